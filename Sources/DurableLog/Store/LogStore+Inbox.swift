#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DurableStorage
import Synchronization

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

    /// Appends `payload` (an item whose ID is `itemID`) to the inbox of workflow `name` unless an
    /// item with that ID is there (an idempotency check made under the inbox's lock; `idOf`
    /// reads a record's item ID). Durable on return.
    ///
    /// The check reads only what was appended since this process last looked (``InboxIDs``).
    ///
    /// - Returns: whether the record was appended (false for a duplicate).
    @discardableResult
    public func appendToInbox(
        name: String, type: RecordType, payload: [UInt8], itemID: String,
        idOf: @escaping @Sendable (LogRecord) -> String?
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
            if try SystemCall.fileSize(fd, path: path) < LogFormat.fileHeaderSize {
                // New (or never completed) inbox: write its header under the lock.
                let header = FileHeader(
                    kind: .inbox, salt: UInt64.random(in: 1...UInt64.max), key: key.bytes,
                    createdAt: SystemCall.nowMilliseconds())
                try SystemCall.truncate(fd, to: 0, path: path)
                try SystemCall.write(fd, header.encoded(), at: 0, path: path)
                try durability.dataSync(fd, path: path)
                try durability.syncDirectory(directory)
            }
            // What this process read before, caught up with what any process appended since.
            var known =
                inboxIDs.withLock { $0.take(key) } ?? InboxIDs(cursor: LogCursor(path: path, key: key, kind: .inbox))
            let resets = known.cursor.resets
            let records: [LogRecord]
            do throws(StorageError) {
                records = try readNewRecordsBlocking(&known.cursor)
            } catch {
                if error.code == .corrupted {
                    throw StorageError(.corrupted, "the inbox is damaged: \(error.message)", path: path)
                }
                throw error
            }
            if known.cursor.resets != resets { known.ids = [] }  // read again from the start
            for record in records { if let id = idOf(record) { known.ids.insert(id) } }
            defer { inboxIDs.withLock { [known] in $0.put(key, known) } }
            if known.ids.contains(itemID) { return false }
            // After the last whole record: a torn tail that a sender which died left is cut off.
            let end = known.cursor.offset
            if try SystemCall.fileSize(fd, path: path) > end { try SystemCall.truncate(fd, to: end, path: path) }
            var bytes: [UInt8] = []
            RecordFrame.encode(
                into: &bytes, salt: known.cursor.salt, seq: known.cursor.lastSeq + 1, type: type.rawValue,
                codec: stored.codec, dictionaryID: stored.dictionaryID, rawLength: payload.count, stored: stored.stored)
            do throws(StorageError) {
                try durability.write(fd, bytes, at: end, path: path)
            } catch {
                try? SystemCall.truncate(fd, to: end, path: path)
                throw error
            }
            try durability.dataSync(fd, path: path)
            known.ids.insert(itemID)
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
