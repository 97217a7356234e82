#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CDurableLinux

/// Open-file-description (OFD) byte-range locks.
///
/// OFD locks belong to the open file description, not the process: two descriptors opened
/// separately conflict even inside one process, closing an unrelated descriptor never drops a
/// lock, and a process killed with SIGKILL releases its locks at once. Every descriptor the
/// engine opens has `O_CLOEXEC`, so a spawned child never inherits (and prolongs) a lease.
enum FileLock {
    /// Tries to take an exclusive lock on `[start, start+length)`; returns `false` if another holder has it.
    static func tryExclusive(
        _ fd: Int32, start: Int64 = 0, length: Int64 = 1, path: String?
    ) throws(StorageError) -> Bool {
        if durable_ofd_lock(fd, 1, start, length, 0) == 0 { return true }
        let code = Glibc.errno
        if code == EAGAIN || code == EACCES { return false }
        throw StorageError(.io, "taking an OFD lock failed", path: path, errno: code)
    }

    /// Takes an exclusive lock, waiting for it. Blocks the calling thread: I/O threads only.
    static func exclusive(_ fd: Int32, start: Int64 = 0, length: Int64 = 1, path: String?) throws(StorageError) {
        if durable_ofd_lock(fd, 1, start, length, 1) != 0 {
            throw StorageError(.io, "waiting for an OFD lock failed", path: path, errno: Glibc.errno)
        }
    }

    /// Releases a lock taken on the same descriptor.
    static func unlock(_ fd: Int32, start: Int64 = 0, length: Int64 = 1) {
        _ = durable_ofd_unlock(fd, start, length)
    }

    /// Whether some other open file description holds a lock on the range. Takes no lock.
    static func isHeld(_ fd: Int32, start: Int64 = 0, length: Int64 = 1, path: String?) throws(StorageError) -> Bool {
        let result = durable_ofd_is_locked(fd, start, length)
        if result < 0 { throw StorageError(.io, "probing an OFD lock failed", path: path, errno: Glibc.errno) }
        return result == 1
    }
}
