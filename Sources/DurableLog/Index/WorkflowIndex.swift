#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DurableStorage
import Synchronization

/// Workflow ID → status, name, timestamps, queue and the other listing fields, for every log.
///
/// An immutable snapshot plus an append-only delta log, both in the log framing, named by a
/// generation in `CURRENT` (LevelDB's MANIFEST pattern). Every process keeps the whole map in
/// memory and reads other processes' deltas from the end of the log; appends from all
/// processes are serialised by an OFD lock on `append.lock` and group-committed within each
/// process. The index is derived: the logs are the truth, and ``LogStore/rebuildIndex()``
/// recreates it from them with identical content.
public final class WorkflowIndex: Sendable {
    typealias Item = (key: LogKey, seq: UInt64, delta: IndexDelta)
    typealias Completion = @Sendable (Result<Void, StorageError>) -> Void

    let directory: String
    private let permissions: FilePermissions
    /// False for a read-only store: nothing is created, published or appended.
    private let writable: Bool
    /// Derives every entry from the logs, for a rebuild.
    private let rebuild: @Sendable () throws(StorageError) -> [IndexEntry]
    private let io: IOThreads
    private let durability: Durability
    private let codec: PayloadCodec
    private let lockFD: Int32
    private let state: Locked<State>
    private let syncQueued = Locked(false)
    private let appending = Locked(())

    private struct OpenLog {
        var fd: Int32
        var path: String
        var salt: UInt64
        var end: Int
        var lastSeq: UInt64
    }

    private struct State {
        var entries: [LogKey: IndexEntry] = [:]
        var generation: UInt64 = 0
        var log: OpenLog?
        var damage: String?
        /// What was wrong with the index files when this process rebuilt them, if it did.
        var repaired: String?
        /// The size of the current snapshot, in bytes (the index log is compacted past it).
        var snapshotBytes = 0
        var pending: [(items: [Item], completion: Completion)] = []
        var flushScheduled = false
        /// Queue name → the entries waiting in it (`ENQUEUED` or `DELAYED`), kept with `entries`
        /// so a dequeue looks only at what waits, not at every workflow ever run.
        var waiting: [String: Set<LogKey>] = [:]
        /// Queue name → deduplication ID → the unfinished entries of the queue that carry it, so
        /// an enqueue with a deduplication ID looks at those, not at every workflow ever run.
        var holders: [String: [String: Set<LogKey>]] = [:]

        /// Applies deltas in order. Each entry they touch is decoded once and encoded once, however
        /// many deltas it gets: loading the index replays its whole log, thousands of deltas for
        /// a busy directory, and a decode and an encode per delta made that the cost of every
        /// process start (seconds in a debug build after a few minutes of work).
        mutating func apply(_ items: some Sequence<Item>) {
            // nil: removed by retention (a later delta creates the entry afresh)
            var touched: [LogKey: (fields: IndexFields, logSeq: UInt64)?] = [:]
            for (key, seq, delta) in items {
                if delta.removed == true {
                    touched[key] = .some(nil)
                    continue
                }
                let known: (fields: IndexFields, logSeq: UInt64)? =
                    if let current = touched[key] { current } else { entries[key].map { ($0.fields, $0.logSeq) } }
                var (fields, logSeq) = known ?? (IndexFields(), 0)
                // Deltas set absolute values, so an older one must never win over a newer one;
                // sequence 0 marks an out-of-band delta (a quarantine) that always applies.
                if seq == 0 {
                    fields.apply(delta)
                } else if seq > logSeq {
                    fields.apply(delta)
                    logSeq = seq
                }
                touched[key] = .some((fields, logSeq))
            }
            for (key, result) in touched {
                if let old = entries[key] { forgetWaiting(old) }
                guard let result else {
                    entries[key] = nil
                    continue
                }
                let entry = IndexEntry(key: key, fields: result.fields, logSeq: result.logSeq)
                entries[key] = entry
                noteWaiting(entry)
            }
        }

        /// Drops `entry` from the queue lookups (before it changes or goes).
        mutating func forgetWaiting(_ entry: IndexEntry) {
            guard let queue = entry.queueName else { return }
            if waiting[queue]?.remove(entry.key) != nil, waiting[queue]!.isEmpty { waiting[queue] = nil }
            if let id = entry.deduplicationID, holders[queue]?[id]?.remove(entry.key) != nil {
                if holders[queue]![id]!.isEmpty { holders[queue]![id] = nil }
                if holders[queue]!.isEmpty { holders[queue] = nil }
            }
        }

        /// Files `entry` in the queue lookups it belongs to now.
        mutating func noteWaiting(_ entry: IndexEntry) {
            guard let queue = entry.queueName else { return }
            let status = entry.status
            if status == .enqueued || status == .delayed {
                waiting[queue, default: []].insert(entry.key)
            } else if waiting[queue]?.remove(entry.key) != nil, waiting[queue]!.isEmpty {
                waiting[queue] = nil
            }
            if let id = entry.deduplicationID {
                if !status.isTerminal {
                    holders[queue, default: [:]][id, default: []].insert(entry.key)
                } else if holders[queue]?[id]?.remove(entry.key) != nil {
                    if holders[queue]![id]!.isEmpty { holders[queue]![id] = nil }
                    if holders[queue]!.isEmpty { holders[queue] = nil }
                }
            }
        }
    }

    /// Opens the index in `directory`, rebuilding it from the logs (`rebuild`) if it is missing
    /// or damaged: the index is derived, so no state of its files may keep a directory closed.
    init(
        directory: String, io: IOThreads, durability: Durability, codec: PayloadCodec, permissions: FilePermissions,
        writable: Bool, rebuild: @escaping @Sendable () throws(StorageError) -> [IndexEntry]
    ) throws(StorageError) {
        self.directory = directory
        self.writable = writable
        self.permissions = permissions
        self.rebuild = rebuild
        self.io = io
        self.durability = durability
        self.codec = codec
        state = Locked(State())
        guard writable else {
            lockFD = -1
            if (try? loadWhole()) != true { try deriveInMemory() }
            return
        }
        if !SystemCall.exists(directory) {  // a deleted index/ comes back
            try SystemCall.makeDirectory(directory, mode: permissions.directoryMode)
            try durability.syncDirectory(directory.directoryName)
        }
        lockFD = try SystemCall.open(IndexFiles.appendLock(directory), O_RDWR | O_CREAT, mode: permissions.fileMode)
        if (try? loadWhole()) == true { return }
        try withAppendLock { () throws(StorageError) in try repairLocked() }
    }

    /// Read-only and the index files are unusable: the entries come from the logs, in memory.
    private func deriveInMemory() throws(StorageError) {
        var reason = "the index has no CURRENT file"
        do throws(StorageError) {
            _ = try loadWhole()
            if let damage = state.withLock({ $0.damage }) { reason = damage }
        } catch {
            reason = error.message
        }
        let entries = try rebuild()
        state.withLock { s in
            s.entries = Dictionary(entries.map { ($0.key, $0) }, uniquingKeysWith: { $1 })
            s.waiting = [:]
            s.holders = [:]
            for entry in entries { s.noteWaiting(entry) }
            if let log = s.log { SystemCall.close(log.fd) }
            s.log = nil
            s.generation = 0
            s.damage = nil
            s.repaired = "\(reason); read from \(entries.count) logs (read-only: nothing was written)"
        }
    }

    deinit {
        state.withLock { s in if let log = s.log { SystemCall.close(log.fd) } }
        if lockFD >= 0 { SystemCall.close(lockFD) }
    }

    // MARK: Queries

    /// The entry for `key`, if the index knows the log.
    public func entry(for key: LogKey) -> IndexEntry? { state.withLock { $0.entries[key] } }

    /// The entry for workflow `id`, if any.
    public func entry(forWorkflowID id: String) -> IndexEntry? {
        guard let key = try? LogKey(name: id) else { return nil }
        return entry(for: key)
    }

    /// Every entry, sorted by key (a stable order for comparisons and listings).
    public func allEntries() -> [IndexEntry] {
        state.withLock { Array($0.entries.values) }.sorted { $0.key < $1.key }
    }

    /// An unfinished entry of `queue` carrying `deduplicationID` that `isHolder` accepts, if any.
    public func deduplicationHolder(
        queue: String, deduplicationID: String, where isHolder: (IndexEntry) -> Bool
    ) -> IndexEntry? {
        state.withLock { s in
            for key in s.holders[queue]?[deduplicationID] ?? [] {
                if let entry = s.entries[key], isHolder(entry) { return entry }
            }
            return nil
        }
    }

    /// The entries waiting (`ENQUEUED` or `DELAYED`) in queue `name`, in no particular order.
    public func waitingEntries(inQueue name: String) -> [IndexEntry] {
        state.withLock { s in (s.waiting[name] ?? []).compactMap { s.entries[$0] } }
    }

    /// The names of the queues that have waiting entries.
    public var queuesWithWaitingEntries: [String] { state.withLock { Array($0.waiting.keys) } }

    /// `transform` of every entry it does not map to nil, in no particular order (no copy of the
    /// whole map). It runs under the index's lock: keep it short and free of I/O.
    public func compactMapEntries<T: Sendable>(_ transform: (IndexEntry) -> T?) -> [T] {
        state.withLock { $0.entries.values.compactMap(transform) }
    }

    /// The entries that satisfy `isIncluded`, in no particular order (no copy of the whole map).
    public func entries(where isIncluded: (IndexEntry) -> Bool) -> [IndexEntry] {
        state.withLock { $0.entries.values.filter(isIncluded) }
    }

    /// The number of entries.
    public var count: Int { state.withLock { $0.entries.count } }

    /// The current generation (bumped by each rebuild or compaction).
    public var generation: UInt64 { state.withLock { $0.generation } }

    /// Damage found in the index files when they were loaded, if any (rebuild to repair it).
    public var damage: String? { state.withLock { $0.damage } }

    /// What was wrong with the index files when this process found them unusable and rebuilt
    /// them from the logs, if it did.
    public var repaired: String? { state.withLock { $0.repaired } }

    /// Whether the entries were derived from the logs in memory because the files are unusable
    /// and the store is read-only (they stay damaged on disk until a writer opens the directory).
    public var isDerivedInMemory: Bool { !writable && state.withLock { $0.generation == 0 } }

    /// Reads what other processes appended since the last look (and follows a new generation).
    /// Takes no lock. Blocks on file I/O.
    public func refresh() throws(StorageError) {
        if !writable, state.withLock({ $0.generation == 0 }) {  // derived in memory: reload once the files are whole
            if (try? readCurrent()) != nil { _ = try? loadWhole() }
            return
        }
        let generation = try readCurrent()
        try state.withLock { (s) throws(StorageError) in
            if generation != s.generation { try reload(&s) } else { try readTail(&s, repair: false) }
        }
    }

    // MARK: Appending

    /// Appends deltas and returns once they are durable in the index log.
    func record(_ items: [Item]) async throws(StorageError) {
        if items.isEmpty { return }
        let result: Result<Void, StorageError> = await withCheckedContinuation { continuation in
            enqueue(items) { continuation.resume(returning: $0) }
        }
        try result.get()
    }

    /// Queues deltas for the next group commit and calls `completion` once they are durable.
    func enqueue(_ items: [Item], completion: @escaping Completion) {
        guard writable else {
            completion(.failure(StorageError(.readOnly, "the data directory was opened read-only", path: directory)))
            return
        }
        let schedule = state.withLock { s in
            s.pending.append((items, completion))
            if s.flushScheduled { return false }
            s.flushScheduled = true
            return true
        }
        if schedule { io.submit { self.flush() } }
    }

    private func flush() {
        let batch = state.withLock { s in
            defer { s.pending = [] }
            return s.pending
        }
        var result: Result<Void, StorageError> = .success(())
        do throws(StorageError) {
            try durability.checkHealthy()
            let (fd, path, compact) = try withAppendLock { () throws(StorageError) -> (Int32, String, Bool) in
                do throws(StorageError) {
                    let generation = try readCurrent()
                    try state.withLock { (s) throws(StorageError) in
                        if generation != s.generation { try reload(&s) } else { try readTail(&s, repair: true) }
                    }
                } catch  where Self.isRepairable(error) {
                    try repairLocked()  // damaged under us: rebuild from the logs, then append
                }
                return try state.withLock { (s) throws(StorageError) -> (Int32, String, Bool) in
                    guard var log = s.log else {
                        throw StorageError(.closed, "the index log is not open", path: directory)
                    }
                    var bytes: [UInt8] = []
                    let items = batch.flatMap(\.items)
                    for (key, seq, delta) in items {
                        let payload = IndexFiles.encodeLogRecord(key: key, seq: seq, delta: delta)
                        let stored = try codec.encode(payload, compress: true, dictionaryID: 0)
                        log.lastSeq += 1
                        RecordFrame.encode(
                            into: &bytes, salt: log.salt, seq: log.lastSeq, type: RecordType.indexUpdate.rawValue,
                            codec: stored.codec, dictionaryID: 0, rawLength: payload.count, stored: stored.stored)
                    }
                    s.apply(items)
                    do throws(StorageError) {
                        try durability.write(log.fd, bytes, at: log.end, path: log.path)
                    } catch {
                        try? SystemCall.truncate(log.fd, to: log.end, path: log.path)
                        try reload(&s)  // drop the deltas applied above
                        throw error
                    }
                    log.end += bytes.count
                    s.log = log
                    return (log.fd, log.path, Self.needsCompaction(logEnd: log.end, snapshotBytes: s.snapshotBytes))
                }
            }
            // The index is derived: a delta lost in a power failure is recovered from its
            // workflow's log (already durable) by ``LogStore/reconcileIndex(sweepOrphans:)``.
            // So acknowledging does not wait for the index's fdatasync; it runs in the
            // background, coalesced, on a duplicate descriptor that a reload cannot close.
            scheduleSync(fd: fd, path: path)
            if compact { io.submit { try? self.compact() } }
        } catch {
            result = .failure(error)
        }
        let reschedule = state.withLock { s in
            if s.pending.isEmpty {
                s.flushScheduled = false
                return false
            }
            return true
        }
        if reschedule { io.submit { self.flush() } }
        for (_, completion) in batch { completion(result) }
    }

    /// Queues one background `fdatasync` of the index log unless one is queued and not yet started.
    private func scheduleSync(fd: Int32, path: String) {
        let queue = syncQueued.withLock { queued in
            defer { queued = true }
            return !queued
        }
        guard queue else { return }
        let duplicate = fcntl(fd, F_DUPFD_CLOEXEC, 0)  // never inherited by a child process
        guard duplicate >= 0 else { return }
        io.submit { [self] in
            syncQueued.withLock { $0 = false }
            try? durability.dataSync(duplicate, path: path)  // a failure poisons the store
            SystemCall.close(duplicate)
        }
    }

    /// Makes every index append so far durable (tests and tools that need it before going on).
    public func sync() throws(StorageError) {
        guard let (fd, path) = state.withLock({ s in s.log.map { ($0.fd, $0.path) } }) else { return }
        try durability.dataSync(fd, path: path)
    }

    // MARK: Rebuild

    /// Replaces the index with `entries` as a new generation (snapshot plus empty log).
    func replace(with entries: [IndexEntry]) throws(StorageError) {
        try withAppendLock { () throws(StorageError) in
            try publish(entries)
            state.withLock { $0.repaired = nil }
        }
    }

    /// An index log past this size (or past half the snapshot's, if larger) is folded into a
    /// new snapshot, so it does not grow forever and a process that opens the index replays
    /// little: every process start reads the whole log since the snapshot. Relative to the
    /// snapshot, the rewrite costs a constant number of entry encodings per update.
    static let compactionThreshold = 1 << 20

    static func needsCompaction(logEnd: Int, snapshotBytes: Int) -> Bool {
        logEnd > max(compactionThreshold, snapshotBytes / 2)
    }

    /// Folds the index log into a new snapshot if it is still past the threshold (or, with
    /// `force`, if it holds anything).
    func compact(force: Bool = false) throws(StorageError) {
        try withAppendLock { () throws(StorageError) in
            let generation = try readCurrent()
            let entries = try state.withLock { (s) throws(StorageError) -> [IndexEntry]? in
                if generation != s.generation { try reload(&s) } else { try readTail(&s, repair: true) }
                guard let log = s.log, s.damage == nil,
                    force
                        ? log.end > LogFormat.fileHeaderSize
                        : Self.needsCompaction(logEnd: log.end, snapshotBytes: s.snapshotBytes)
                else { return nil }
                return Array(s.entries.values)
            }
            if let entries { try publish(entries) }
        }
    }

    /// Whether `error` from loading the index means its files are unusable (not an I/O failure).
    private static func isRepairable(_ error: StorageError) -> Bool {
        error.code == .corrupted || error.code == .notFound
    }

    /// Loads CURRENT's generation; true if it is whole (no damage found in its files).
    private func loadWhole() throws(StorageError) -> Bool {
        guard SystemCall.exists(IndexFiles.current(directory)) else { return false }
        return try state.withLock { (s) throws(StorageError) -> Bool in
            try reload(&s)
            return s.damage == nil
        }
    }

    /// With the append lock held: loads the index if another process repaired it meanwhile, or
    /// else publishes a new generation rebuilt from the logs.
    private func repairLocked() throws(StorageError) {
        var reason = "the index has no CURRENT file"
        do throws(StorageError) {
            if try loadWhole() { return }
            if let damage = state.withLock({ $0.damage }) { reason = damage }
        } catch  where Self.isRepairable(error) {
            reason = error.message
        }
        let fresh = !SystemCall.exists(IndexFiles.current(directory)) && highestGenerationOnDisk() == 0
        let entries = try rebuild()
        try publish(entries)
        if !(fresh && entries.isEmpty) {  // a new directory's first index is no repair
            state.withLock { $0.repaired = "\(reason); rebuilt from \(entries.count) logs" }
        }
    }

    /// Publishes `entries` as the next generation, loads it, and removes older generations and
    /// temporary files left by crashed writers. Holds the append lock.
    private func publish(_ entries: [IndexEntry]) throws(StorageError) {
        let next = max((try? readCurrent()) ?? 0, generation, highestGenerationOnDisk()) + 1
        try publishGeneration(next, entries: entries)
        try state.withLock { (s) throws(StorageError) in try reload(&s) }
        for name in (try? SystemCall.listDirectory(directory)) ?? [] {
            let stale =
                (name.hasPrefix("snap-") || name.hasPrefix("log-"))
                && !name.hasPrefix("snap-\(next).") && !name.hasPrefix("log-\(next).")
            // Index temporary files are only written under the append lock, which we hold.
            if stale || name.contains(".tmp.") { try? SystemCall.unlink("\(directory)/\(name)") }
        }
    }

    /// The highest generation any snapshot or log file in the directory names.
    private func highestGenerationOnDisk() -> UInt64 {
        ((try? SystemCall.listDirectory(directory)) ?? []).compactMap { name -> UInt64? in
            guard name.hasPrefix("snap-") || name.hasPrefix("log-"), let dash = name.firstIndex(of: "-"),
                let dot = name.firstIndex(of: ".")
            else { return nil }
            return UInt64(name[name.index(after: dash)..<dot])
        }.max() ?? 0
    }

    // MARK: Files

    /// Runs `body` holding the append lock: the OFD lock excludes other processes, and
    /// `appending` the other threads of this one (they share the lock's open file description,
    /// which an OFD lock does not exclude).
    private func withAppendLock<T: Sendable>(_ body: () throws(StorageError) -> T) throws(StorageError) -> T {
        guard writable else {
            throw StorageError(.readOnly, "the data directory was opened read-only", path: directory)
        }
        return try appending.withLock { _ throws(StorageError) -> T in
            try FileLock.exclusive(lockFD, path: IndexFiles.appendLock(directory))
            defer { FileLock.unlock(lockFD) }
            return try body()
        }
    }

    private func readCurrent() throws(StorageError) -> UInt64 {
        let path = IndexFiles.current(directory)
        let fd = try SystemCall.open(path, O_RDONLY_FLAG)
        defer { SystemCall.close(fd) }
        guard let generation = IndexFiles.decodeCurrent(try SystemCall.readAll(fd, path: path)) else {
            throw StorageError(.corrupted, "the index's CURRENT file is damaged", path: path)
        }
        return generation
    }

    /// Writes snapshot and empty log of `generation`, then points CURRENT at them. Holds the append lock.
    private func publishGeneration(_ generation: UInt64, entries: [IndexEntry]) throws(StorageError) {
        let sorted = entries.sorted { $0.key < $1.key }
        let snapshotHeader = FileHeader(
            kind: .indexSnapshot, salt: UInt64.random(in: 1...UInt64.max), key: [],
            createdAt: SystemCall.nowMilliseconds())
        var snapshot = snapshotHeader.encoded()
        var seq: UInt64 = 0
        for start in stride(from: 0, to: sorted.count, by: IndexFiles.batchSize) {
            let payload = IndexFiles.encodeEntries(sorted[start..<min(start + IndexFiles.batchSize, sorted.count)])
            let stored = try codec.encode(payload, compress: true, dictionaryID: 0)
            seq += 1
            RecordFrame.encode(
                into: &snapshot, salt: snapshotHeader.salt, seq: seq, type: IndexFiles.snapshotBatch,
                codec: stored.codec,
                dictionaryID: 0, rawLength: payload.count, stored: stored.stored)
        }
        var footer = ByteWriter()
        footer.varint(UInt64(sorted.count))
        RecordFrame.encode(
            into: &snapshot, salt: snapshotHeader.salt, seq: seq + 1, type: IndexFiles.snapshotFooter, codec: .raw,
            dictionaryID: 0, rawLength: footer.bytes.count, stored: footer.bytes)
        let logHeader = FileHeader(
            kind: .indexLog, salt: UInt64.random(in: 1...UInt64.max), key: [], createdAt: SystemCall.nowMilliseconds())
        try writeAtomically(IndexFiles.snapshot(directory, generation), snapshot)
        try writeAtomically(IndexFiles.log(directory, generation), logHeader.encoded())
        // The new files' names must be durable before CURRENT names them: a crash in between
        // then leaves the old generation current, never a CURRENT naming files that are lost.
        try durability.syncDirectory(directory)
        try writeAtomically(IndexFiles.current(directory), IndexFiles.encodeCurrent(generation: generation))
        try durability.syncDirectory(directory)
    }

    /// temp file + fdatasync + rename (the directory fsync follows in the caller).
    private func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(StorageError) {
        let temporary = "\(path).tmp.\(getpid())"
        let fd = try SystemCall.open(temporary, O_RDWR | O_CREAT | O_TRUNC, mode: permissions.fileMode)
        defer { SystemCall.close(fd) }
        try SystemCall.write(fd, bytes, at: 0, path: temporary)
        try durability.dataSync(fd, path: temporary)
        try SystemCall.rename(temporary, path)
    }

    /// Loads CURRENT's generation from scratch: snapshot, then the whole log.
    private func reload(_ s: inout State) throws(StorageError) {
        // A rebuild in another process may publish a new generation and delete this one between
        // reading CURRENT and opening its files; then read CURRENT again.
        var attempts = 0
        while true {
            do throws(StorageError) {
                return try load(&s)
            } catch {
                attempts += 1
                if error.code != .notFound || attempts >= 5 { throw error }
            }
        }
    }

    /// Loads the generation CURRENT names: snapshot, then the whole log.
    private func load(_ s: inout State) throws(StorageError) {
        let generation = try readCurrent()
        var entries: [LogKey: IndexEntry] = [:]
        var damage: String?
        let snapshotPath = IndexFiles.snapshot(directory, generation)
        // Every generation has a snapshot (an empty one at first); a missing one means it was just replaced.
        let snapshotFD = try SystemCall.open(snapshotPath, O_RDONLY_FLAG)
        defer { SystemCall.close(snapshotFD) }
        let scan = LogScanner.scan(try SystemCall.readAll(snapshotFD, path: snapshotPath), expectedKind: .indexSnapshot)
        var footerCount: UInt64?
        for frame in scan.frames {
            let payload = try codec.decode(frame, path: snapshotPath)
            if frame.type == IndexFiles.snapshotFooter {
                var r = ByteReader(payload)
                footerCount = r.varint()
            } else if let batch = IndexFiles.decodeEntries(payload) {
                for entry in batch { entries[entry.key] = entry }
            }
        }
        if !scan.isClean || footerCount != UInt64(entries.count) {
            damage = "the index snapshot snap-\(generation).idx is damaged"
        }
        let logPath = IndexFiles.log(directory, generation)
        // opened before the old one is closed: a failure leaves state intact
        let fd = try SystemCall.open(logPath, writable ? O_RDWR_FLAG : O_RDONLY_FLAG)
        if let old = s.log { SystemCall.close(old.fd) }
        s.log = OpenLog(fd: fd, path: logPath, salt: 0, end: 0, lastSeq: 0)
        s.entries = entries
        s.waiting = [:]
        s.holders = [:]
        for entry in entries.values { s.noteWaiting(entry) }
        s.generation = generation
        s.damage = damage
        s.snapshotBytes = (try? SystemCall.fileSize(snapshotFD, path: snapshotPath)) ?? 0
        try readTail(&s, repair: false)
    }

    /// Applies records appended to the index log since `s.log.end`. With `repair` (append lock
    /// held) a torn tail is cut off: the writer that left it is dead, or it would hold the lock.
    private func readTail(_ s: inout State, repair: Bool) throws(StorageError) {
        guard var log = s.log else { return }
        let size = try SystemCall.fileSize(log.fd, path: log.path)
        if size <= log.end && log.end > 0 { return }
        let bytes: [UInt8]
        var base = log.end
        if log.end == 0 {
            bytes = try SystemCall.read(log.fd, count: size, at: 0, path: log.path)
            guard case .success(let header) = FileHeader.decode(bytes[...]), header.kind == .indexLog else {
                s.damage = "the index log \(log.path.fileName) has a damaged header"
                return
            }
            log.salt = header.salt
            base = 0
            log.end = LogFormat.fileHeaderSize
        } else {
            bytes = try SystemCall.read(log.fd, count: size - log.end, at: log.end, path: log.path)
        }
        var position = log.end - base
        var items: [Item] = []
        while let frame = RecordFrame.parse(bytes, at: position, salt: log.salt, minimumSeq: log.lastSeq + 1),
            frame.seq == log.lastSeq + 1
        {
            let payload = try codec.decode(frame, path: log.path)
            if let item = IndexFiles.decodeLogRecord(payload) { items.append(item) }
            log.lastSeq = frame.seq
            position += frame.footprint
        }
        s.apply(items)
        log.end = base + position
        s.log = log
        if log.end < size && !bytes[position...].allSatisfy({ $0 == 0 }) {
            let damaged = stride(from: position + LogFormat.alignment, to: bytes.count, by: LogFormat.alignment)
                .contains {
                    RecordFrame.parse(bytes, at: $0, salt: log.salt, minimumSeq: log.lastSeq + 1) != nil
                }
            if damaged {
                s.damage = "the index log \(log.path.fileName) is damaged at offset \(log.end)"
                if repair { throw StorageError(.corrupted, s.damage!, path: log.path) }
            } else if repair {
                try SystemCall.truncate(log.fd, to: log.end, path: log.path)
            }
        }
    }
}
