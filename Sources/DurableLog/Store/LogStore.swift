#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DurableStorage
import Synchronization

/// A data directory of per-workflow logs plus their index: the storage engine's front door.
///
/// One `LogStore` per process and directory is the normal shape; several processes may open
/// the same directory at once. Writers take a log's lease (an OFD lock) before appending;
/// readers (``readLog(name:)``, the CLI, the exporter) take no lock and see a consistent prefix.
///
/// ```swift
/// let store = try LogStore.open(directory: ".durable")
/// let log = try await store.createLog(name: "order-42", fields: fields)
/// try await log.append(RecordDraft(type: RecordType(rawValue: 0x10), payload: bytes))
/// ```
public final class LogStore: Sendable {
    /// How a store behaves.
    public struct Options: Sendable {
        /// Compress payloads with zstd (tiny and incompressible ones are stored raw regardless).
        public var compress = true
        /// zstd level; 1-3 compress equally well on small records, higher levels cost far more CPU.
        public var compressionLevel: Int32 = 3
        /// Dedicated threads for writes and syncs. More threads let more logs flush in parallel.
        public var ioThreadCount = 16
        /// Open a directory on a network filesystem anyway (dead owners may then go unnoticed).
        public var allowNetworkFilesystem = false
        /// Create the data directory if it does not exist (tools that only read turn this off).
        public var createIfMissing = true
        /// Never write: create no file or directory, take no lease, append nothing. A missing or
        /// damaged index is then derived from the logs in memory instead of being rebuilt on disk.
        /// Reading works on a directory this process may not write (a read-only mount).
        public var readOnly = false
        /// Wake cross-process waiters with inotify (off: poll file metadata, as happens anyway
        /// when the per-user inotify limits are reached).
        public var watchWithInotify = true
        /// Who may read the files it creates (the owner alone by default: they hold inputs,
        /// outputs and messages).
        public var permissions = FilePermissions.ownerOnly
        /// Replaces `fdatasync`/`fsync` for fault-injection tests; returns an errno or 0.
        var syncFunction: Durability.SyncFunction?
        /// Fails writes below the log, for fault-injection tests (see ``Durability/WriteFault``).
        var writeFault: Durability.WriteFault?
        /// Fails opens for writing, for fault-injection tests (see ``Durability/OpenFault``).
        var openFault: Durability.OpenFault?

        /// The defaults.
        public init() {}
    }

    /// The data directory.
    public let directory: String
    /// The workflow index.
    public let index: WorkflowIndex
    private let lazyWatcher = Locked<FileWatcher?>(nil)
    private let queues = Locked<[String: QueueFiles]>([:])
    /// What this process read of the inboxes it sent to (see ``InboxIDs``).
    let inboxIDs = Locked(InboxIDs.Cache())
    /// Threads that only wait for contended cross-process locks (never needed by a lock holder).
    private let lockWaiters = IOThreads(threadCount: 2)

    let layout: DataDirectory
    /// The data directory's device and inode when it was opened.
    private let identity: [UInt64]?
    /// The logs, read without the index.
    let folder: LogFolder
    let io: IOThreads
    let durability: Durability
    let codec: PayloadCodec
    let options: Options
    private let activeDictionary = Atomic<UInt16>(0)

    private init(layout: DataDirectory, options: Options, io: IOThreads, durability: Durability) throws(StorageError) {
        self.layout = layout
        identity = Self.identity(of: layout.path)
        self.directory = layout.path
        self.options = options
        self.io = io
        self.durability = durability
        let dictionaries = DictionaryStore(
            directory: layout.dictionariesDirectory, level: options.compressionLevel, fileMode: layout.fileMode)
        codec = PayloadCodec(dictionaries: dictionaries, level: options.compressionLevel)
        let folder = LogFolder(layout: layout, codec: codec)
        self.folder = folder
        index = try WorkflowIndex(
            directory: layout.indexDirectory, io: io, durability: durability, codec: codec,
            permissions: layout.permissions,
            writable: !options.readOnly, rebuild: folder.derivedEntries)
    }

    deinit {
        io.shutdown()
        lockWaiters.shutdown()
        lazyWatcher.withLock { $0?.stop() }
    }

    /// Wakes waiters when logs change (inotify; its thread starts on first use), for prompt
    /// cross-process waits without a polling interval. Without inotify it polls (see ``FileWatcher``).
    public func watcher() -> FileWatcher {
        lazyWatcher.withLock { watcher -> FileWatcher in
            if let watcher { return watcher }
            let created = FileWatcher(useInotify: options.watchWithInotify, io: io)
            watcher = created
            return created
        }
    }

    /// The coordination files of queue `name` (created on first use), shared by everything in
    /// this process that uses the queue.
    public func queueFiles(named name: String) throws(StorageError) -> QueueFiles {
        try checkWritable()
        return try queues.withLock { (queues) throws(StorageError) -> QueueFiles in
            if let files = queues[name] { return files }
            let files = try QueueFiles(
                name: name, queuesDirectory: layout.queuesDirectory, io: io, lockWaiters: lockWaiters,
                permissions: layout.permissions)
            queues[name] = files
            return files
        }
    }

    /// The files of queue `name` if this store opened them already, from memory (no I/O).
    public func openedQueueFiles(named name: String) -> QueueFiles? {
        queues.withLock { $0[name] }
    }

    /// The `config.json` contents of every queue directory that has one (for `durable queues`).
    public func recordedQueueConfigurations() throws(StorageError) -> [[UInt8]] {
        guard SystemCall.exists(layout.queuesDirectory) else { return [] }
        var configurations: [[UInt8]] = []
        for name in try SystemCall.listDirectory(layout.queuesDirectory) {
            let path = "\(layout.queuesDirectory)/\(name)/config.json"
            guard SystemCall.exists(path), let fd = try? SystemCall.open(path, O_RDONLY_FLAG) else { continue }
            defer { SystemCall.close(fd) }
            if let bytes = try? SystemCall.readAll(fd, path: path) { configurations.append(bytes) }
        }
        return configurations
    }

    /// Opens (creating if needed) the data directory at `directory`.
    ///
    /// Blocks while it creates the layout and loads the index; call it before serving work.
    ///
    /// - Throws: ``StorageError/Code/notADataDirectory`` for a non-empty foreign directory,
    ///   ``StorageError/Code/networkFilesystem`` on NFS/SMB/FUSE, ``StorageError/Code/unsupportedVersion``
    ///   for a directory written by a newer format.
    public static func open(directory: String, options: Options = Options()) throws(StorageError) -> LogStore {
        let durability = Durability(
            syncFunction: options.syncFunction, writeFault: options.writeFault, openFault: options.openFault)
        let layout = DataDirectory(path: directory, permissions: options.permissions)
        try layout.prepare(
            allowNetworkFilesystem: options.allowNetworkFilesystem,
            create: options.createIfMissing && !options.readOnly,
            durability: durability)
        let io = IOThreads(threadCount: options.ioThreadCount)
        do {
            return try LogStore(layout: layout, options: options, io: io, durability: durability)
        } catch {
            io.shutdown()
            throw error
        }
    }

    /// Throws ``StorageError/Code/readOnly`` if the store was opened read-only, and
    /// ``StorageError/Code/notFound`` if the data directory was deleted or replaced since it was
    /// opened (writing there would scatter workflows over a directory nobody else sees).
    func checkWritable() throws(StorageError) {
        if options.readOnly {
            throw StorageError(.readOnly, "the data directory was opened read-only", path: directory)
        }
        let now = Self.identity(of: layout.path)
        if now == nil || now != identity {
            throw StorageError(
                .notFound,
                "the data directory was \(now == nil ? "deleted" : "replaced") while this process was using it; restart the process",
                path: directory)
        }
    }

    /// The device and inode of `path`, if it exists.
    static func identity(of path: String) -> [UInt64]? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return [UInt64(st.st_dev), UInt64(st.st_ino)]
    }

    /// Calls `observer` once when an `fsync` fails and the store stops acknowledging writes (at
    /// once if that already happened), from the thread that saw the failure.
    public func onDurabilityLost(_ observer: @escaping @Sendable (StorageError) -> Void) {
        durability.onPoison(observer)
    }

    /// The error that stopped this store from acknowledging writes, if an `fsync` ever failed.
    public var fatalError: StorageError? { durability.fatalError }

    /// The path of the log for `name`.
    public func logPath(name: String) throws(StorageError) -> String { layout.logPath(try LogKey(name: name)) }

    // MARK: Writing

    /// Creates the log for `name`, holding its lease, with `fields` as its first index update
    /// followed by `records`; returns once all of it is durable (file, data and directory entry).
    ///
    /// - Throws: ``StorageError/Code/alreadyExists`` if a log for `name` exists (workflow IDs are
    ///   idempotency keys: open the existing one instead), ``StorageError/Code/invalidName``.
    public func createLog(
        name: String, fields: IndexFields, records: [RecordDraft] = []
    ) async throws(StorageError)
        -> LogWriter
    {
        try checkWritable()
        let key = try LogKey(name: name)
        var identity = fields
        identity.workflowID = name
        let all = [RecordDraft.indexUpdate(identity)] + records
        let encoded = try encode(all)
        let path = layout.logPath(key)
        let shard = layout.shardDirectory(key)
        let header = FileHeader(
            kind: .workflowLog, salt: UInt64.random(in: 1...UInt64.max), key: key.bytes,
            createdAt: SystemCall.nowMilliseconds())
        var bytes = header.encoded()
        for (index, (record, stored)) in zip(all, encoded).enumerated() {
            RecordFrame.encode(
                into: &bytes, salt: header.salt, seq: UInt64(index + 1), type: record.type.rawValue,
                codec: stored.codec,
                dictionaryID: stored.dictionaryID, rawLength: record.payload.count, stored: stored.stored)
        }
        let fileBytes = bytes
        let fd = try await io.run { [durability, layout] () throws(StorageError) -> Int32 in
            try durability.checkHealthy()
            if SystemCall.exists(path) {
                throw StorageError(.alreadyExists, "a log for this workflow ID exists", path: path)
            }
            let temporary = "\(shard)/.\(key.hex).\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp"
            if !SystemCall.exists(shard) {
                // Shard directories are made at initialisation; a copied directory may lack empty ones.
                try SystemCall.makeDirectory(shard, mode: layout.directoryMode)
                try durability.syncDirectory(shard.directoryName)
            }
            let fd = try durability.openForWriting(temporary, O_CREATE_EXCLUSIVE_RDWR, mode: layout.fileMode)
            do throws(StorageError) {
                guard try FileLock.tryExclusive(fd, path: temporary) else {
                    throw StorageError(.leaseHeld, "a fresh log file is locked by someone else", path: temporary)
                }
                try durability.write(fd, fileBytes, at: 0, path: temporary)
                try durability.dataSync(fd, path: temporary)
                // link() publishes the name only if it is free; the lock travels with the inode.
                try SystemCall.link(temporary, path)
                try? SystemCall.unlink(temporary)
                try durability.syncDirectory(shard)
                return fd
            } catch {
                SystemCall.close(fd)
                try? SystemCall.unlink(temporary)
                throw error
            }
        }
        let writer = LogWriter(
            name: name, key: key, path: path, fd: fd, salt: header.salt, store: self, lastSeq: UInt64(all.count),
            end: fileBytes.count)
        let deltas = all.enumerated().compactMap { offset, record -> (LogKey, UInt64, IndexDelta)? in
            guard record.type == .indexUpdate, let delta = IndexDelta(decoding: record.payload) else { return nil }
            return (key, UInt64(offset + 1), delta)
        }
        try await index.record(deltas)
        return writer
    }

    /// Opens the existing log for `name` for appending: takes its lease, verifies every record,
    /// and repairs a torn tail (the cut bytes are kept in `<log>.torn-<ms>`).
    ///
    /// - Returns: the writer and the log's verified records.
    /// - Throws: ``StorageError/Code/leaseHeld`` if another executor holds it,
    ///   ``StorageError/Code/notFound``, or ``StorageError/Code/corrupted`` (the log is then
    ///   quarantined in the index and left byte for byte as it was).
    public func openLog(
        name: String, refusingQuarantined: Bool = false
    ) async throws(StorageError) -> (writer: LogWriter, records: [LogRecord]) {
        try checkWritable()
        let key = try LogKey(name: name)
        let path = layout.logPath(key)
        let acknowledged = index.entry(for: key)?.logSeq ?? 0
        enum Opened: Sendable {
            case ready(fd: Int32, contents: LogContents, salt: UInt64)
            case corrupted(reason: String)
            case quarantined(reason: String)
        }
        let opened = try await io.run { [self] () throws(StorageError) -> Opened in
            try durability.checkHealthy()
            let fd: Int32
            do throws(StorageError) {
                fd = try durability.openForWriting(path, O_RDWR_FLAG, mode: layout.fileMode)
            } catch {
                throw Self.naming(error, name)
            }
            do throws(StorageError) {
                guard try FileLock.tryExclusive(fd, path: path) else {
                    throw StorageError(
                        .leaseHeld, "workflow \(quoted(name)) is held by another live executor", path: path)
                }
                if refusingQuarantined {
                    // A quarantine is an index fact the log does not carry; one made by another
                    // process while it held the lease is seen once the index is read again.
                    try index.refresh()
                    if let reason = index.entry(for: key)?.fields.corruption {
                        SystemCall.close(fd)
                        return .quarantined(reason: reason)
                    }
                }
                let file = try SystemCall.readAll(fd, path: path)
                let scan = LogScanner.scan(file, expectedKind: .workflowLog, acknowledgedSeq: acknowledged)
                if case .corrupted(let reason) = scan.outcome {
                    SystemCall.close(fd)
                    return .corrupted(reason: reason)
                }
                let contents = try contents(of: scan, key: key, path: path)
                guard scan.header?.key == key.bytes, contents.name == name else {
                    throw StorageError(
                        .corrupted,
                        "the log at this path belongs to another workflow ID (\(contents.name ?? "unknown"))",
                        path: path)
                }
                if scan.outcome == .torn { try repairTornTail(fd: fd, path: path, file: file, validEnd: scan.validEnd) }
                return .ready(fd: fd, contents: contents, salt: scan.header!.salt)
            } catch {
                SystemCall.close(fd)
                throw error
            }
        }
        switch opened {
        case .ready(let fd, let contents, let salt):
            // The previous writer may have died between a log append and its index append: whoever
            // takes the lease next brings the index up to date with what the log says.
            do {
                try await reconcileIndex(forLogNamed: name, records: contents.records)
            } catch {
                SystemCall.close(fd)
                throw error
            }
            let writer = LogWriter(
                name: name, key: key, path: path, fd: fd, salt: salt, store: self,
                lastSeq: contents.records.last?.seq ?? 0, end: contents.validEnd)
            return (writer, contents.records)
        case .quarantined(let reason):
            throw StorageError(.corrupted, "workflow \(quoted(name)) is quarantined: \(reason)", path: path)
        case .corrupted(let reason):
            try await quarantine(key: key, reason: reason)
            throw StorageError(
                .corrupted,
                "workflow \(quoted(name)) is quarantined: \(reason). The file is left untouched; "
                    + "`durable check` lists it", path: path)
        }
    }

    /// Quarantines workflow `name` in the index for `reason` (for example a damaged inbox): it is
    /// no longer run or recovered, and waits on it end with an error. No file is touched.
    public func quarantine(name: String, reason: String) async throws(StorageError) {
        try checkWritable()
        try await quarantine(key: try LogKey(name: name), reason: reason)
    }

    /// Marks a log as corrupted in the index, so nothing tries to run it; the file is not touched.
    func quarantine(key: LogKey, reason: String) async throws(StorageError) {
        if index.entry(for: key)?.fields.corruption == reason { return }
        var delta = IndexDelta()
        delta.corruption = reason
        // Sequence 0: an out-of-band delta that is not part of the log's own history.
        try await index.record([(key, 0, delta)])
    }

    /// Keeps the torn bytes for forensics, then cuts the log back to its last valid record.
    private func repairTornTail(fd: Int32, path: String, file: [UInt8], validEnd: Int) throws(StorageError) {
        let tail = Array(file[validEnd...])
        if tail.contains(where: { $0 != 0 }) {
            let aside = "\(path).torn-\(SystemCall.nowMilliseconds())"
            let sideFD = try SystemCall.open(aside, O_RDWR | O_CREAT | O_TRUNC, mode: layout.fileMode)
            defer { SystemCall.close(sideFD) }
            try SystemCall.write(sideFD, tail, at: 0, path: aside)
            try durability.dataSync(sideFD, path: aside)
        }
        try SystemCall.truncate(fd, to: validEnd, path: path)
        try durability.dataSync(fd, path: path)
        try durability.syncDirectory((path as String).directoryName)
    }

    // MARK: Reading

    /// Whether a log for `name` exists (one stat; blocks: call it on an I/O thread).
    public func logExists(name: String) throws(StorageError) -> Bool {
        SystemCall.exists(layout.logPath(try LogKey(name: name)))
    }

    /// Reads the log for `name` without taking any lock (safe beside a live writer).
    ///
    /// Blocks on file I/O: call it from tools, tests or an I/O thread, not from a hot async path.
    public func readLog(name: String) throws(StorageError) -> LogContents {
        do throws(StorageError) {
            return try readLog(key: LogKey(name: name))
        } catch {
            throw Self.naming(error, name)
        }
    }

    /// Reads the log for `name` without taking any lock, on the store's I/O threads (for async callers).
    public func read(name: String) async throws(StorageError) -> LogContents {
        let key = try LogKey(name: name)
        do throws(StorageError) {
            return try await io.run { [self] () throws(StorageError) in try readLog(key: key) }
        } catch {
            throw Self.naming(error, name)
        }
    }

    /// A missing log is an unknown workflow: say so by its ID, not by a file path.
    static func naming(_ error: StorageError, _ name: String) -> StorageError {
        guard error.code == .notFound else { return error }
        return StorageError(.notFound, "no workflow with ID \(quoted(name))")
    }

    /// Runs blocking work (file reads, an index refresh) on the store's I/O threads, off Swift's
    /// cooperative pool, and returns its result.
    public func onIOThread<T: Sendable>(
        _ body: @escaping @Sendable () throws(StorageError) -> T
    )
        async throws(StorageError) -> T
    {
        try await io.run(body)
    }

    /// Reads what other processes appended to the index, on the store's I/O threads.
    public func refreshIndex() async throws(StorageError) {
        try await io.run { [index] () throws(StorageError) in try index.refresh() }
    }

    /// Reads the log with `key` without taking any lock.
    public func readLog(key: LogKey) throws(StorageError) -> LogContents { try folder.readLog(key: key) }

    /// Whether some live process holds the lease of the log for `name`.
    public func isLeaseHeld(name: String) throws(StorageError) -> Bool { try isLeaseHeld(key: try LogKey(name: name)) }

    /// ``isLeaseHeld(name:)`` on the store's I/O threads.
    public func leaseIsHeld(name: String) async throws(StorageError) -> Bool {
        let key = try LogKey(name: name)
        return try await io.run { [self] () throws(StorageError) -> Bool in try isLeaseHeld(key: key) }
    }

    func isLeaseHeld(key: LogKey) throws(StorageError) -> Bool {
        let path = layout.logPath(key)
        let fd = try SystemCall.open(path, O_RDONLY_FLAG)
        defer { SystemCall.close(fd) }
        return try FileLock.isHeld(fd, path: path)
    }

    /// The keys of every log file in the directory (one `readdir` per shard; no file is opened).
    public func allLogKeys() throws(StorageError) -> [LogKey] { try folder.allLogKeys() }

    func contents(of scan: LogScan, key: LogKey, path: String) throws(StorageError) -> LogContents {
        try folder.contents(of: scan, key: key, path: path)
    }

    // MARK: Compression dictionaries

    /// Trains a zstd dictionary from sample payloads, stores it durably and immutably, and
    /// returns its ID. Records compressed with it name it by that ID forever.
    public func trainDictionary(samples: [[UInt8]], capacity: Int = 32 * 1024) throws(StorageError) -> UInt16 {
        let content = try DictionaryTrainer.train(samples: samples, capacity: capacity)
        return try codec.dictionaries.add(content, durability: durability)
    }

    /// Compresses new records with dictionary `id` (or with none, for `nil`).
    public func useDictionary(_ id: UInt16?) throws(StorageError) {
        if let id { _ = try codec.dictionaries.dictionary(id) }
        activeDictionary.store(id ?? 0, ordering: .relaxed)
    }

    func encode(
        _ records: [RecordDraft]
    ) throws(StorageError)
        -> [(codec: LogFormat.Codec, dictionaryID: UInt16, stored: [UInt8])]
    {
        let dictionary = activeDictionary.load(ordering: .relaxed)
        var out: [(codec: LogFormat.Codec, dictionaryID: UInt16, stored: [UInt8])] = []
        out.reserveCapacity(records.count)
        for record in records {
            out.append(try codec.encode(record.payload, compress: options.compress, dictionaryID: dictionary))
        }
        return out
    }
}

/// Quotes a user-supplied name for an error message, shortening very long ones.
func quoted(_ name: String) -> String {
    let shown = name.count > 80 ? String(name.prefix(77)) + "..." : name
    return
        "\"\(shown.unicodeScalars.map { $0.value < 0x20 ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined())\""
}

extension String {
    /// The directory part of a path.
    var directoryName: String {
        guard let slash = lastIndex(of: "/") else { return "." }
        return slash == startIndex ? "/" : String(self[..<slash])
    }

    /// The last component of a path.
    var fileName: String { lastIndex(of: "/").map { String(self[index(after: $0)...]) } ?? self }
}
