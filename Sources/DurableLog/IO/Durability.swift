#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DurableStorage
import Synchronization

/// The fail-stop durability policy shared by everything one ``LogStore`` writes.
///
/// `fdatasync` and `fsync` are the only calls that make data durable. If one fails, Linux may
/// already have marked the unwritten pages clean, so a retry could "succeed" over lost data
/// (the 2018 PostgreSQL fsyncgate lesson). The first failure therefore poisons the store:
/// every waiting and every later append fails with ``StorageError/Code/durabilityLost`` and
/// nothing is acknowledged again until the process restarts and re-reads its logs.
final class Durability: Sendable {
    /// Replaces the real sync call in fault-injection tests; returns an errno or 0.
    typealias SyncFunction = @Sendable (_ fd: Int32, _ path: String) -> Int32
    /// Fault injection below the log for tests: for a write of `count` bytes to `path`, nil
    /// (write it) or how many bytes to write before failing with which errno (0 bytes: a failure
    /// up front, as ENOSPC or EROFS give; some: a short write, then the failure).
    typealias WriteFault = @Sendable (_ path: String, _ count: Int) -> (written: Int, errno: Int32)?
    /// Fault injection for the files the store creates or opens for writing: an errno to fail
    /// the open with (EACCES, EROFS), or nil.
    typealias OpenFault = @Sendable (_ path: String) -> Int32?

    private let failure = Locked<StorageError?>(nil)
    private let observers = Locked<[@Sendable (StorageError) -> Void]>([])
    private let syncFunction: SyncFunction?
    private let writeFault: WriteFault?
    private let openFault: OpenFault?

    init(syncFunction: SyncFunction?, writeFault: WriteFault? = nil, openFault: OpenFault? = nil) {
        self.syncFunction = syncFunction
        self.writeFault = writeFault
        self.openFault = openFault
    }

    /// `pwrite` of all of `bytes` at `offset` (through the write fault, in tests).
    func write(_ fd: Int32, _ bytes: [UInt8], at offset: Int, path: String) throws(StorageError) {
        if let (written, code) = writeFault?(path, bytes.count) {
            if written > 0 { try SystemCall.write(fd, Array(bytes.prefix(written)), at: offset, path: path) }
            throw SystemCall.error("pwrite", path, code)
        }
        try SystemCall.write(fd, bytes, at: offset, path: path)
    }

    /// `open` of a file to write (through the open fault, in tests).
    func openForWriting(_ path: String, _ flags: Int32, mode: mode_t) throws(StorageError) -> Int32 {
        if let code = openFault?(path) { throw SystemCall.error("open", path, code) }
        return try SystemCall.open(path, flags, mode: mode)
    }

    /// The error that poisoned the store, if any.
    var fatalError: StorageError? { failure.withLock { $0 } }

    /// Calls `observer` once, when the store is poisoned (at once if it already is).
    func onPoison(_ observer: @escaping @Sendable (StorageError) -> Void) {
        let current = failure.withLock { current -> StorageError? in
            if current == nil { observers.withLock { $0.append(observer) } }
            return current
        }
        if let current { observer(current) }
    }

    /// Throws if the store has been poisoned.
    func checkHealthy() throws(StorageError) {
        if let error = fatalError { throw error }
    }

    /// `fdatasync(fd)`; on failure poisons the store and throws.
    func dataSync(_ fd: Int32, path: String) throws(StorageError) {
        try checkHealthy()
        let code = syncFunction?(fd, path) ?? SystemCall.dataSync(fd)
        if code != 0 { throw poison("fdatasync", path: path, errno: code) }
    }

    /// `fsync` of a directory, making names created in it durable; poisons the store on failure.
    func syncDirectory(_ path: String) throws(StorageError) {
        try checkHealthy()
        let fd = try SystemCall.open(path, O_RDONLY_DIRECTORY)
        defer { SystemCall.close(fd) }
        let code = syncFunction?(fd, path) ?? SystemCall.fullSync(fd)
        if code != 0 { throw poison("fsync of directory", path: path, errno: code) }
    }

    private func poison(_ operation: String, path: String, errno: Int32) -> StorageError {
        let error = StorageError(
            .durabilityLost,
            "\(operation) failed; durability can no longer be guaranteed, so this store acknowledges nothing "
                + "further. Restart the process: recovery re-reads the logs from disk",
            path: path, errno: errno)
        let (first, notify) = failure.withLock { current -> (StorageError, [@Sendable (StorageError) -> Void]) in
            if let current { return (current, []) }
            current = error
            return (
                error,
                observers.withLock { observers in
                    defer { observers = [] }
                    return observers
                }
            )
        }
        for observer in notify { observer(first) }
        return first
    }
}
