#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CDurableLinux

/// Thin, typed wrappers over the POSIX calls the storage engine makes.
///
/// Every call retries `EINTR`, loops on short reads and writes, and turns failures into a
/// ``StorageError`` that names the operation and the path. All of these block: call them only
/// from the engine's I/O threads or from synchronous tools, never from Swift's cooperative pool.
enum SystemCall {
    static func error(_ operation: String, _ path: String?, _ code: Int32 = Glibc.errno) -> StorageError {
        StorageError(.io, "\(operation) failed", path: path, errno: code)
    }

    /// ``open(_:_:mode:)``, or nil if the file does not exist.
    static func openIfExists(_ path: String, _ flags: Int32) throws(StorageError) -> Int32? {
        do throws(StorageError) {
            return try open(path, flags)
        } catch {
            if error.code == .notFound { return nil }
            throw error
        }
    }

    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o600) throws(StorageError) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            let code = Glibc.errno
            if code == EINTR { continue }
            if code == ENOENT { throw StorageError(.notFound, "no such file", path: path, errno: code) }
            if code == EEXIST { throw StorageError(.alreadyExists, "file exists", path: path, errno: code) }
            throw error("open", path, code)
        }
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    static func fileSize(_ fd: Int32, path: String?) throws(StorageError) -> Int {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw error("fstat", path) }
        return Int(st.st_size)
    }

    /// Reads exactly `count` bytes at `offset`, or fewer at end of file.
    static func read(_ fd: Int32, count: Int, at offset: Int, path: String?) throws(StorageError) -> [UInt8] {
        if count == 0 { return [] }
        var done = 0
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            while done < count {
                let n = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 {
                    if Glibc.errno == EINTR { continue }
                    failure = Glibc.errno
                    break
                }
                if n == 0 { break }
                done += n
            }
            initialized = done
        }
        if failure != 0 { throw error("pread", path, failure) }
        return bytes
    }

    /// Reads the whole file.
    static func readAll(_ fd: Int32, path: String?) throws(StorageError) -> [UInt8] {
        let size = try fileSize(fd, path: path)
        return try read(fd, count: size, at: 0, path: path)
    }

    /// Writes all of `bytes` at `offset`.
    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String?) throws(StorageError)
    {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw error("pwrite", path)
            }
            done += n
        }
    }

    static func write(_ fd: Int32, _ bytes: [UInt8], at offset: Int, path: String?) throws(StorageError) {
        let result: Result<Void, StorageError> = bytes.withUnsafeBytes { raw in
            do throws(StorageError) {
                try write(fd, raw, at: offset, path: path)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    static func truncate(_ fd: Int32, to length: Int, path: String?) throws(StorageError) {
        while ftruncate(fd, off_t(length)) != 0 {
            if Glibc.errno != EINTR { throw error("ftruncate", path) }
        }
    }

    static func dataSync(_ fd: Int32) -> Int32 {
        while fdatasync(fd) != 0 {
            let code = Glibc.errno
            if code != EINTR { return code }
        }
        return 0
    }

    static func fullSync(_ fd: Int32) -> Int32 {
        while fsync(fd) != 0 {
            let code = Glibc.errno
            if code != EINTR { return code }
        }
        return 0
    }

    static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws(StorageError) {
        if mkdir(path, mode) != 0 && Glibc.errno != EEXIST { throw error("mkdir", path) }
    }

    /// Publishes `source` under the new name `target`; fails with `.alreadyExists` if `target` exists.
    static func link(_ source: String, _ target: String) throws(StorageError) {
        if Glibc.link(source, target) != 0 {
            let code = Glibc.errno
            if code == EEXIST { throw StorageError(.alreadyExists, "file exists", path: target, errno: code) }
            throw error("link", target, code)
        }
    }

    static func rename(_ source: String, _ target: String) throws(StorageError) {
        if Glibc.rename(source, target) != 0 { throw error("rename", target) }
    }

    static func unlink(_ path: String) throws(StorageError) {
        if Glibc.unlink(path) != 0 && Glibc.errno != ENOENT { throw error("unlink", path) }
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Names in a directory, without `.` and `..`.
    static func listDirectory(_ path: String) throws(StorageError) -> [String] {
        guard let dir = opendir(path) else {
            if Glibc.errno == ENOENT { return [] }
            throw error("opendir", path)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Wall-clock time in Unix milliseconds.
    static func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Monotonic time in nanoseconds.
    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// Flags for opening a directory to fsync it.
let O_RDONLY_DIRECTORY: Int32 = O_RDONLY | O_DIRECTORY
/// Flags for reading a file.
let O_RDONLY_FLAG: Int32 = O_RDONLY
/// Flags for opening an existing file read-write.
let O_RDWR_FLAG: Int32 = O_RDWR
/// Flags for creating a new file that must not exist yet.
let O_CREATE_EXCLUSIVE_RDWR: Int32 = O_RDWR | O_CREAT | O_EXCL
