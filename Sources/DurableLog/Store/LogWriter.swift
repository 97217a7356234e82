import DurableStorage
import Synchronization

/// An open workflow log whose lease this process holds: the only handle that may append.
///
/// The lease is an exclusive OFD lock on the log file, held for as long as the writer is open.
/// Appends are group-committed: concurrent appends to one log are written with one `pwrite`
/// and made durable with one `fdatasync` on the store's I/O threads, and each append returns
/// only after that `fdatasync` succeeded. Appends to different logs flush in parallel.
public final class LogWriter: Sendable {
    /// The workflow ID (or other name) the log belongs to.
    public let name: String
    /// The log's key.
    public let key: LogKey
    /// The log file.
    public let path: String

    let fd: Int32
    let salt: UInt64
    let store: LogStore
    private let state: Locked<State>

    private struct Pending {
        var bytes: [UInt8]
        var seqs: [UInt64]
        var indexDeltas: [(seq: UInt64, delta: IndexDelta)]
        var continuation: CheckedContinuation<Result<Void, StorageError>, Never>
    }

    private struct State {
        var nextSeq: UInt64
        var nextOffset: Int
        var durableSeq: UInt64
        var durableOffset: Int
        var pending: [Pending] = []
        var flushScheduled = false
        var closed = false
        var failure: StorageError?
    }

    init(name: String, key: LogKey, path: String, fd: Int32, salt: UInt64, store: LogStore, lastSeq: UInt64, end: Int) {
        self.name = name
        self.key = key
        self.path = path
        self.fd = fd
        self.salt = salt
        self.store = store
        state = Locked(State(nextSeq: lastSeq + 1, nextOffset: end, durableSeq: lastSeq, durableOffset: end))
    }

    deinit {
        let open = state.withLock { s in
            defer { s.closed = true }
            return !s.closed
        }
        if open { SystemCall.close(fd) }
    }

    /// The sequence number of the last durable record.
    public var lastSeq: UInt64 { state.withLock { $0.durableSeq } }

    /// The size of the durable part of the log in bytes.
    public var durableSize: Int { state.withLock { $0.durableOffset } }

    /// Appends `records` as one atomic batch and returns after they are durable.
    ///
    /// Index updates among the records are applied to the index after the log is durable
    /// (log first, then index).
    ///
    /// - Returns: the sequence numbers given to the records.
    /// - Throws: ``StorageError/Code/payloadTooLarge`` for an oversized payload (nothing is
    ///   written); ``StorageError/Code/io`` if the write failed (the log is cut back to its
    ///   last durable record and stays usable); ``StorageError/Code/durabilityLost`` after any
    ///   failed `fdatasync` (fatal for the whole store); ``StorageError/Code/closed``.
    @discardableResult
    public func append(_ records: [RecordDraft]) async throws(StorageError) -> [UInt64] {
        guard !records.isEmpty else { return [] }
        let encoded = try store.encode(records)
        var seqs: [UInt64] = []
        let result: Result<Void, StorageError> = await withCheckedContinuation { continuation in
            let outcome: Result<Bool, StorageError> = state.withLock { s in
                if let failure = s.failure ?? store.durability.fatalError { return .failure(failure) }
                if s.closed { return .failure(StorageError(.closed, "the log was closed", path: path)) }
                var bytes: [UInt8] = []
                bytes.reserveCapacity(encoded.reduce(0) { $0 + LogFormat.recordHeaderSize + $1.stored.count + 8 })
                var deltas: [(UInt64, IndexDelta)] = []
                for (record, stored) in zip(records, encoded) {
                    let seq = s.nextSeq
                    s.nextSeq += 1
                    seqs.append(seq)
                    RecordFrame.encode(
                        into: &bytes, salt: salt, seq: seq, type: record.type.rawValue, codec: stored.codec,
                        dictionaryID: stored.dictionaryID, rawLength: record.payload.count, stored: stored.stored)
                    if record.type == .indexUpdate, let delta = IndexDelta(decoding: record.payload) {
                        deltas.append((seq, delta))
                    }
                }
                s.nextOffset += bytes.count
                s.pending.append(Pending(bytes: bytes, seqs: seqs, indexDeltas: deltas, continuation: continuation))
                if s.flushScheduled { return .success(false) }
                s.flushScheduled = true
                return .success(true)
            }
            switch outcome {
            case .failure(let error): continuation.resume(returning: .failure(error))
            case .success(true): store.io.submit { self.flush() }
            case .success(false): break
            }
        }
        try result.get()
        return seqs
    }

    /// Appends one record; see ``append(_:)-([RecordDraft])``.
    @discardableResult
    public func append(_ record: RecordDraft) async throws(StorageError) -> UInt64 {
        try await append([record])[0]
    }

    /// Releases the lease and closes the file once queued appends have finished.
    public func close() {
        let closeNow = state.withLock { s in
            if s.closed { return false }
            s.closed = true
            return !s.flushScheduled
        }
        if closeNow { SystemCall.close(fd) }
    }

    /// Writes and syncs everything pending. Runs on an I/O thread.
    private func flush() {
        let (batch, start) = state.withLock { s in
            let batch = s.pending
            s.pending = []
            return (batch, s.durableOffset)
        }
        var outcome: Result<Void, StorageError> = .success(())
        do throws(StorageError) {
            try store.durability.checkHealthy()
            if batch.count == 1 {
                try store.durability.write(fd, batch[0].bytes, at: start, path: path)
            } else {
                try store.durability.write(fd, batch.flatMap(\.bytes), at: start, path: path)
            }
            try store.durability.dataSync(fd, path: path)
        } catch {
            outcome = .failure(error)
        }

        var failedLater: [Pending] = []
        var closeNow = false
        let reschedule: Bool = state.withLock { s in
            switch outcome {
            case .success:
                s.durableOffset = start + batch.reduce(0) { $0 + $1.bytes.count }
                s.durableSeq = batch.last?.seqs.last ?? s.durableSeq
            case .failure(let error):
                if error.code == .durabilityLost {
                    s.failure = error
                } else {
                    // The write failed (ENOSPC, EIO): cut the file back to the last durable
                    // record; every append queued behind this batch was framed for offsets
                    // that no longer exist, so it fails too and the caller may retry.
                    try? SystemCall.truncate(fd, to: s.durableOffset, path: path)
                }
                failedLater = s.pending
                s.pending = []
                s.nextSeq = s.durableSeq + 1
                s.nextOffset = s.durableOffset
            }
            if s.pending.isEmpty {
                s.flushScheduled = false
                closeNow = s.closed
                return false
            }
            return true
        }
        if reschedule { store.io.submit { self.flush() } }
        if closeNow { SystemCall.close(fd) }

        switch outcome {
        case .success:
            let deltas = batch.flatMap(\.indexDeltas)
            if deltas.isEmpty {
                for pending in batch { pending.continuation.resume(returning: .success(())) }
            } else {
                // Log first, then index: the index learns of the change only once it is durable here.
                store.index.enqueue(deltas.map { (key, $0.seq, $0.delta) }) { indexResult in
                    for pending in batch { pending.continuation.resume(returning: indexResult) }
                }
            }
        case .failure(let error):
            for pending in batch + failedLater { pending.continuation.resume(returning: .failure(error)) }
        }
    }
}
