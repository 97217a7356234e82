#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Inboxes: per-workflow files of messages, appended by any process.
///
/// A workflow's log has a single writer (its lease holder), so messages for it go to a separate
/// file, `inbox/<key>.inbox`, in the same framing (file kind 4). Senders from any process append
/// under an exclusive OFD lock and `fdatasync` before returning; the recipient reads without a
/// lock and records which messages it consumed in its own log, which is what makes receiving
/// exactly-once across crashes.
extension LogStore {
    /// The inbox file of workflow `name`.
    public func inboxPath(name: String) throws(StorageError) -> String { layout.inboxPath(try LogKey(name: name)) }

    /// Appends `payload` to the inbox of workflow `name` unless a record already there satisfies
    /// `isDuplicate` (an idempotency check made under the inbox's lock). Durable on return.
    ///
    /// - Returns: whether the record was appended (false for a duplicate).
    @discardableResult
    public func appendToInbox(
        name: String, type: RecordType, payload: [UInt8], isDuplicate: @escaping @Sendable (LogRecord) -> Bool
    ) async throws(StorageError) -> Bool {
        try checkWritable()
        let key = try LogKey(name: name)
        let path = layout.inboxPath(key)
        let directory = layout.inboxDirectory
        let stored = try encode([RecordDraft(type: type, payload: payload)])[0]
        return try await io.run { [self] () throws(StorageError) -> Bool in
            try durability.checkHealthy()
            if !SystemCall.exists(directory) {
                try SystemCall.makeDirectory(directory, mode: layout.directoryMode)
                try durability.syncDirectory(directory.directoryName)
            }
            let fd = try durability.openForWriting(path, O_RDWR | O_CREAT, mode: layout.fileMode)
            defer { SystemCall.close(fd) }
            try FileLock.exclusive(fd, path: path)
            defer { FileLock.unlock(fd) }
            var file = try SystemCall.readAll(fd, path: path)
            if file.count < LogFormat.fileHeaderSize {
                // New (or never completed) inbox: write its header under the lock.
                let header = FileHeader(
                    kind: .inbox, salt: UInt64.random(in: 1...UInt64.max), key: key.bytes,
                    createdAt: SystemCall.nowMilliseconds())
                file = header.encoded()
                try SystemCall.truncate(fd, to: 0, path: path)
                try SystemCall.write(fd, file, at: 0, path: path)
                try durability.dataSync(fd, path: path)
                try durability.syncDirectory(directory)
            }
            let scan = LogScanner.scan(file, expectedKind: .inbox)
            if case .corrupted(let reason) = scan.outcome {
                throw StorageError(.corrupted, "the inbox is damaged: \(reason)", path: path)
            }
            let existing = try contents(of: scan, key: key, path: path).records
            if existing.contains(where: isDuplicate) { return false }
            if scan.outcome == .torn {
                // The sender that left it died holding the lock it no longer holds.
                try SystemCall.truncate(fd, to: scan.validEnd, path: path)
            }
            var bytes: [UInt8] = []
            RecordFrame.encode(
                into: &bytes, salt: scan.header!.salt, seq: scan.lastSeq + 1, type: type.rawValue, codec: stored.codec,
                dictionaryID: stored.dictionaryID, rawLength: payload.count, stored: stored.stored)
            do throws(StorageError) {
                try durability.write(fd, bytes, at: scan.validEnd, path: path)
            } catch {
                try? SystemCall.truncate(fd, to: scan.validEnd, path: path)
                throw error
            }
            try durability.dataSync(fd, path: path)
            return true
        }
    }

    /// Creates an empty inbox file for workflow `name` if it has none, so that it can be watched
    /// before the first message arrives (the first sender writes its header under the lock).
    public func ensureInboxExists(name: String) throws(StorageError) {
        try checkWritable()
        let path = layout.inboxPath(try LogKey(name: name))
        if SystemCall.exists(path) { return }
        if !SystemCall.exists(layout.inboxDirectory) {
            try SystemCall.makeDirectory(layout.inboxDirectory, mode: layout.directoryMode)
        }
        SystemCall.close(try SystemCall.open(path, O_RDWR | O_CREAT, mode: layout.fileMode))
    }

    /// The messages in the inbox of workflow `name` (none if it has no inbox), read without a lock.
    public func readInbox(name: String) async throws(StorageError) -> [LogRecord] {
        try await io.run { [self] () throws(StorageError) -> [LogRecord] in try readInboxBlocking(name: name) }
    }

    /// The damage in workflow `name`'s inbox, read under the inbox's lock (so no sender is
    /// half-way through an append that a lock-free reader could take for damage), or nil if it
    /// is whole.
    public func confirmedInboxDamage(name: String) async throws(StorageError) -> String? {
        let path = layout.inboxPath(try LogKey(name: name))
        return try await io.run { () throws(StorageError) -> String? in
            guard let fd = try SystemCall.openIfExists(path, O_RDWR_FLAG) else { return nil }
            defer { SystemCall.close(fd) }
            try FileLock.exclusive(fd, path: path)
            defer { FileLock.unlock(fd) }
            if case .corrupted(let reason) = LogScanner.scan(
                try SystemCall.readAll(fd, path: path), expectedKind: .inbox
            ).outcome {
                return reason
            }
            return nil
        }
    }

    /// ``readInbox(name:)`` on the calling thread, for callers that run on a thread of their own
    /// (never call it from the cooperative pool).
    public func readInboxBlocking(name: String) throws(StorageError) -> [LogRecord] {
        let key = try LogKey(name: name)
        let path = layout.inboxPath(key)
        guard let fd = try SystemCall.openIfExists(path, O_RDONLY_FLAG) else { return [] }
        defer { SystemCall.close(fd) }
        let scan = LogScanner.scan(try SystemCall.readAll(fd, path: path), expectedKind: .inbox)
        if case .corrupted(let reason) = scan.outcome {
            throw StorageError(.corrupted, "the inbox is damaged: \(reason)", path: path)
        }
        return try contents(of: scan, key: key, path: path).records
    }
}
