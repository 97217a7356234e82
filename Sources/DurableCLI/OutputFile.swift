#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where a command's output goes: standard output, or a file that appears complete or not at all
/// (written beside it as `<file>.partial`, synced, then renamed).
final class OutputFile: Sendable {
    let fd: Int32
    let path: String?

    init(path: String?) throws {
        self.path = path
        guard let path else {
            fd = STDOUT_FILENO
            return
        }
        fd = open(path + ".partial", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        if fd < 0 {
            throw OutputFileError("cannot create \(path).partial: \(String(cString: strerror(errno)))")
        }
    }

    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw OutputFileError(
                    "writing \(path ?? "standard output") failed: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    func commit() throws {
        guard let path else { return }
        if fsync(fd) != 0 || rename(path + ".partial", path) != 0 {
            throw OutputFileError("cannot finish \(path): \(String(cString: strerror(errno)))")
        }
        close(fd)
    }

    func abandon() {
        guard let path else { return }
        close(fd)
        unlink(path + ".partial")
    }
}

/// A command's output file could not be written.
struct OutputFileError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
