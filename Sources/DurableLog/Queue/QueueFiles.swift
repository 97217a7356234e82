#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DurableStorage
import Synchronization

/// The files that coordinate one queue among every process sharing a data directory.
///
/// ```
/// <dir>/queues/<key>/queue.lock   its exclusive OFD lock serialises enqueue and dequeue decisions
/// <dir>/queues/<key>/slots.lock   byte i locked = run slot i taken (per partition: an offset range)
/// <dir>/queues/<key>/seq          the next enqueue sequence number (checksummed)
/// <dir>/queues/<key>/rate-<p>     the start times of the rate-limit window, per partition (checksummed)
/// <dir>/queues/<key>/bell         written to wake dequeuers in every process (inotify)
/// <dir>/queues/<key>/config.json  the limits an executor declared, for `durable queues`
/// ```
///
/// Slots are locks, not counters: a process killed with SIGKILL frees its slots at once, so a
/// crash never leaves a stale "running" count behind. The counter files are hints rebuilt from
/// the index (and so from the logs) whenever they are missing, damaged or disagree with it.
public final class QueueFiles: Sendable {
    /// The queue's name.
    public let name: String
    /// The queue's directory.
    public let directory: String
    /// The file to watch (``FileWatcher``) for "something changed in this queue".
    public let bellPath: String

    private let io: IOThreads
    private let lockWaiters: IOThreads
    private let lockFD: Int32
    private let slotsFD: Int32
    private let bellFD: Int32
    private let gate = AsyncLock()
    private let heldSlots = Locked<Set<Int64>>([])
    private let sequenceChecked = Locked(false)

    /// The largest concurrency limit a queue may have (slots of one partition are 16-bit offsets).
    public static let maximumConcurrency = StorageLimits.maxQueueConcurrency
    /// The mode of the files it creates.
    let fileMode: mode_t

    init(
        name: String, queuesDirectory: String, io: IOThreads, lockWaiters: IOThreads, permissions: FilePermissions
    ) throws(StorageError) {
        self.name = name
        fileMode = permissions.fileMode
        self.io = io
        self.lockWaiters = lockWaiters
        directory = "\(queuesDirectory)/\(try LogKey(name: name, what: "a queue name").hex)"
        bellPath = "\(directory)/bell"
        try SystemCall.makeDirectory(queuesDirectory, mode: permissions.directoryMode)
        try SystemCall.makeDirectory(directory, mode: permissions.directoryMode)
        lockFD = try SystemCall.open("\(directory)/queue.lock", O_RDWR | O_CREAT, mode: fileMode)
        do throws(StorageError) {
            slotsFD = try SystemCall.open("\(directory)/slots.lock", O_RDWR | O_CREAT, mode: fileMode)
        } catch {
            SystemCall.close(lockFD)
            throw error
        }
        do throws(StorageError) {
            bellFD = try SystemCall.open(bellPath, O_RDWR | O_CREAT, mode: fileMode)
        } catch {
            SystemCall.close(lockFD)
            SystemCall.close(slotsFD)
            throw error
        }
    }

    deinit {
        SystemCall.close(lockFD)
        SystemCall.close(slotsFD)
        SystemCall.close(bellFD)
    }

    // MARK: The queue lock

    /// Runs `body` holding the queue's exclusive lock, across every process sharing the directory.
    ///
    /// Tasks of one process queue up in memory first; only the one at the head waits on the
    /// kernel (on a dedicated thread, so waiting never starves the I/O threads the holder needs).
    public func withLock<T: Sendable>(_ body: (QueueLock) async throws -> T) async throws -> T {
        try await gate.withLock {
            try Task.checkCancellation()  // a shutdown must not queue up behind another process
            let path = "\(directory)/queue.lock"
            var held = lockFD
            if try !FileLock.tryExclusive(lockFD, path: path) { held = try await waitForLock(path: path) }
            defer { if held == lockFD { FileLock.unlock(lockFD) } else { SystemCall.close(held) } }
            return try await body(QueueLock(files: self))
        }
    }

    /// Waits for the queue lock on a descriptor of its own (opened and locked on a waiter thread)
    /// and returns it holding the lock. A cancelled task stops waiting at once (a shutdown never
    /// hangs behind another process's lock); the thread, once it gets the lock, lets it go by
    /// closing its descriptor.
    private func waitForLock(path: String) async throws -> Int32 {
        let wait = AbandonableWait()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
                guard wait.begin(continuation) else { return }
                lockWaiters.submit {
                    wait.finish(
                        Result { () throws(StorageError) -> Int32 in
                            let fd = try SystemCall.open(path, O_RDWR_FLAG)
                            do throws(StorageError) {
                                try FileLock.exclusive(fd, path: path)
                            } catch {
                                SystemCall.close(fd)
                                throw error
                            }
                            return fd
                        })
                }
            }
        } onCancel: {
            wait.abandon()
        }
    }

    // MARK: Run slots

    /// Takes a free run slot among the first `limit` of `partition`, or returns `nil` if all are
    /// taken (by this process or others). Call it holding the queue lock, so that counting and
    /// taking are one decision across processes.
    public func tryTakeSlot(partition: String?, limit: Int) throws(StorageError) -> QueueSlot? {
        let base = try Self.slotBase(partition)
        let path = "\(directory)/slots.lock"
        let fd = slotsFD
        // Checking, locking and noting a slot happen under one mutex, as do unlocking and
        // forgetting it in `release`: the OFD lock is shared by the whole process, so a byte
        // must never look free here while a release is between its two halves.
        return try heldSlots.withLock { (held) throws(StorageError) -> QueueSlot? in
            for index in 0..<Int64(min(limit, Self.maximumConcurrency)) {
                let offset = base + index
                if held.contains(offset) { continue }
                if try FileLock.tryExclusive(fd, start: offset, path: path) {
                    held.insert(offset)
                    return QueueSlot(offset: offset)
                }
            }
            return nil
        }
    }

    /// Gives a slot back (when its workflow stops running here).
    public func release(_ slot: QueueSlot) {
        let fd = slotsFD
        heldSlots.withLock { held in
            if held.remove(slot.offset) != nil { FileLock.unlock(fd, start: slot.offset) }
        }
    }

    /// How many of the first `limit` slots of `partition` are taken by any process.
    public func busySlotCount(partition: String?, limit: Int) throws(StorageError) -> Int {
        let base = try Self.slotBase(partition)
        let mine = heldSlots.withLock { $0 }
        var busy = 0
        for index in 0..<Int64(min(limit, Self.maximumConcurrency)) {
            let offset = base + index
            if mine.contains(offset) {
                busy += 1
            } else if try FileLock.isHeld(slotsFD, start: offset, path: "\(directory)/slots.lock") {
                busy += 1
            }
        }
        return busy
    }

    /// Partition `nil` uses offsets 0..<65536; a partition key uses a range picked by its hash.
    private static func slotBase(_ partition: String?) throws(StorageError) -> Int64 {
        guard let partition else { return 0 }
        let bytes = try LogKey(name: partition, what: "a partition key").bytes
        let hash = bytes.prefix(5).reduce(Int64(0)) { $0 << 8 | Int64($1) }
        return (hash + 1) << 16
    }

    // MARK: The bell

    /// Wakes every process waiting on this queue (a one-byte write they see through inotify).
    public func ring() {
        let fd = bellFD
        io.submit {
            var byte: UInt8 = 1
            _ = pwrite(fd, &byte, 1, 0)
        }
    }

    // MARK: Configuration

    /// Records the limits an executor declared (informational: `durable queues` shows them).
    public func writeConfiguration(_ bytes: [UInt8]) async throws(StorageError) {
        let path = "\(directory)/config.json"
        try await io.run { () throws(StorageError) in
            let temporary = "\(path).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
            let fd = try SystemCall.open(temporary, O_RDWR | O_CREAT | O_TRUNC, mode: self.fileMode)
            defer { SystemCall.close(fd) }
            try SystemCall.write(fd, bytes, at: 0, path: temporary)
            try SystemCall.rename(temporary, path)
        }
    }

    /// The limits last recorded by ``writeConfiguration(_:)``, if any.
    public func readConfiguration() throws(StorageError) -> [UInt8]? {
        let path = "\(directory)/config.json"
        guard SystemCall.exists(path) else { return nil }
        let fd = try SystemCall.open(path, O_RDONLY_FLAG)
        defer { SystemCall.close(fd) }
        return try SystemCall.readAll(fd, path: path)
    }

    // MARK: Counters (used through QueueLock)

    func nextSequence(atLeast floor: @escaping @Sendable () -> Int64) async throws(StorageError) -> Int64 {
        let path = "\(directory)/seq"
        let check = sequenceChecked.withLock { checked in
            defer { checked = true }
            return !checked
        }
        // After a crash or power loss the file may be missing, damaged or behind the logs; the
        // first use in each process takes the larger of the file and what the index has seen.
        let minimum = check ? floor() : 0
        return try await io.run { () throws(StorageError) -> Int64 in
            let fd = try SystemCall.open(path, O_RDWR | O_CREAT, mode: self.fileMode)
            defer { SystemCall.close(fd) }
            let stored = QueueCounterFile.decodeSequence(try SystemCall.readAll(fd, path: path))
            let next = max(stored ?? floor(), minimum)
            try SystemCall.write(fd, QueueCounterFile.encodeSequence(next + 1), at: 0, path: path)
            return next
        }
    }

    func recentStarts(
        partition: String?, limit: Int, period: Int64, now: Int64, rebuild: @escaping @Sendable () -> [Int64]
    ) async throws(StorageError) -> [Int64] {
        let path = try ratePath(partition)
        return try await io.run { () throws(StorageError) -> [Int64] in
            var window: QueueCounterFile.RateWindow
            if SystemCall.exists(path) {
                let fd = try SystemCall.open(path, O_RDONLY_FLAG)
                defer { SystemCall.close(fd) }
                window =
                    QueueCounterFile.decodeRate(try SystemCall.readAll(fd, path: path), limit: limit, period: period)
                    ?? QueueCounterFile.RateWindow(limit: limit, period: period, starts: rebuild())
            } else {
                window = QueueCounterFile.RateWindow(limit: limit, period: period, starts: rebuild())
            }
            return window.starts.filter { $0 > now - period }.sorted()
        }
    }

    func writeStarts(
        _ starts: [Int64], partition: String?, limit: Int, period: Int64, now: Int64
    ) async throws(StorageError) {
        let path = try ratePath(partition)
        try await io.run { () throws(StorageError) in
            let fd = try SystemCall.open(path, O_RDWR | O_CREAT, mode: self.fileMode)
            defer { SystemCall.close(fd) }
            let window = QueueCounterFile.RateWindow(
                limit: limit, period: period, starts: Array(starts.filter { $0 > now - period }.sorted().suffix(limit)))
            let bytes = QueueCounterFile.encodeRate(window)
            try SystemCall.write(fd, bytes, at: 0, path: path)
            try SystemCall.truncate(fd, to: bytes.count, path: path)
        }
    }

    private func ratePath(_ partition: String?) throws(StorageError) -> String {
        guard let partition else { return "\(directory)/rate" }
        return "\(directory)/rate-\(try LogKey(name: partition, what: "a partition key").hex)"
    }
}

/// A run slot taken with ``QueueFiles/tryTakeSlot(partition:limit:)``.
public struct QueueSlot: Sendable, Hashable {
    let offset: Int64
}

/// Access to a queue's counters, handed to the body of ``QueueFiles/withLock(_:)`` only.
public struct QueueLock: Sendable {
    let files: QueueFiles

    /// Assigns the next enqueue sequence number. `floor` computes, from the index, one more than
    /// the largest number in use; it is consulted once per process and whenever the file is damaged.
    public func nextSequence(atLeast floor: @escaping @Sendable () -> Int64) async throws(StorageError) -> Int64 {
        try await files.nextSequence(atLeast: floor)
    }

    /// The start times within `period` ms before `now` (oldest first) of `partition`'s
    /// rate-limit window; `rebuild` recomputes them from the index if the file is missing,
    /// damaged or was written for other limits.
    public func recentStarts(
        partition: String?, limit: Int, period: Int64, now: Int64, rebuild: @escaping @Sendable () -> [Int64]
    ) async throws(StorageError) -> [Int64] {
        try await files.recentStarts(partition: partition, limit: limit, period: period, now: now, rebuild: rebuild)
    }

    /// Replaces `partition`'s rate-limit window with `starts` (the window read under this lock
    /// plus the starts decided since), so a rebuilt window is written back, never dropped.
    public func writeStarts(
        _ starts: [Int64], partition: String?, limit: Int, period: Int64, now: Int64
    ) async throws(StorageError) {
        try await files.writeStarts(starts, partition: partition, limit: limit, period: period, now: now)
    }
}

/// A blocking lock wait that its task may stop waiting for: whichever of ``finish(_:)`` (the
/// waiter thread) and ``abandon()`` (the task's cancellation) comes first decides; when the task
/// has gone, the descriptor the thread got (and its lock) is closed.
private final class AbandonableWait: Sendable {
    private enum Phase {
        case created, waiting(CheckedContinuation<Int32, any Error>), abandoned, done
    }
    private let phase = Locked(Phase.created)

    /// Stores the continuation; false (after resuming it with `CancellationError`) if already abandoned.
    func begin(_ continuation: CheckedContinuation<Int32, any Error>) -> Bool {
        let abandoned = phase.withLock { p -> Bool in
            if case .abandoned = p { return true }
            p = .waiting(continuation)
            return false
        }
        if abandoned { continuation.resume(throwing: CancellationError()) }
        return !abandoned
    }

    /// The waiter thread got the lock on a descriptor of its own, or failed.
    func finish(_ outcome: Result<Int32, StorageError>) {
        let waiting = phase.withLock { p -> CheckedContinuation<Int32, any Error>? in
            defer { p = .done }
            if case .waiting(let continuation) = p { return continuation }
            return nil
        }
        guard let waiting else {
            if case .success(let fd) = outcome { SystemCall.close(fd) }  // nobody waits any more: let the lock go
            return
        }
        waiting.resume(with: outcome.mapError { $0 as any Error })
    }

    /// The task was cancelled: it stops waiting now; the thread closes the descriptor later.
    func abandon() {
        let waiting = phase.withLock { p -> CheckedContinuation<Int32, any Error>? in
            switch p {
            case .created:
                p = .abandoned
                return nil
            case .waiting(let continuation):
                p = .abandoned
                return continuation
            case .abandoned, .done: return nil
            }
        }
        waiting?.resume(throwing: CancellationError())
    }
}
