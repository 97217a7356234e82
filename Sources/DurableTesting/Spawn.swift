import CDurableLinux
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Starts processes with `posix_spawn`, not Foundation's `Process`: `Process.run` lists
/// `/proc/self/fd` and copies each entry's whole `d_name` buffer, reading past the end of its
/// directory buffer; in a test process with many descriptors open (stores, connections) that
/// read crosses into an unmapped page and the test process dies of SIGSEGV.
public enum Spawn {
    /// A started process: its ID and the read ends of the pipes its output goes to.
    public struct Started: Sendable {
        /// The process ID.
        public var pid: pid_t
        /// The read end of its standard output (nil when it was sent elsewhere).
        public var output: Int32?
        /// The read end of its standard error (nil when it was sent elsewhere).
        public var errors: Int32?
    }

    /// Where a child's output goes.
    public enum Destination: Sendable {
        /// A pipe the parent reads.
        case pipe
        /// A file, created or truncated.
        case file(String)
        /// `/dev/null`.
        case null
        /// The parent's own descriptor.
        case inherit
        /// Where standard output goes (for standard error: both in one stream, in order).
        case output
    }

    /// Starts `executable` with `arguments` and `environment` (the whole environment), standard
    /// input from `/dev/null`, and no descriptor of the parent's but 0, 1 and 2.
    public static func start(
        _ executable: String, _ arguments: [String], environment: [String: String],
        output: Destination = .pipe, errors: Destination = .inherit
    ) throws -> Started {
        // The child's ends: a pipe's write end, or a file or /dev/null opened here (close-on-exec,
        // so only the spawn's dup2 passes them on), closed in the parent once it has started.
        var parentEnds: [Int32?] = []
        var childEnds: [Int32] = []
        for destination in [output, errors] {
            switch destination {
            case .pipe:
                var fds: [Int32] = [0, 0]
                guard durable_pipe_cloexec(&fds) == 0 else {
                    throw SpawnError("pipe: \(String(cString: strerror(errno)))")
                }
                parentEnds.append(fds[0])
                childEnds.append(fds[1])
            case .file(let path):
                let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw SpawnError("\(path): \(String(cString: strerror(errno)))") }
                parentEnds.append(nil)
                childEnds.append(fd)
            case .null:
                parentEnds.append(nil)
                childEnds.append(open("/dev/null", O_WRONLY | O_CLOEXEC))
            case .inherit:
                parentEnds.append(nil)
                childEnds.append(-1)
            case .output:
                parentEnds.append(nil)
                childEnds.append(childEnds.first ?? -1)
            }
        }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = durable_spawn(&pid, executable, argv, envp, childEnds[0], childEnds[1])
        for end in Set(childEnds) where end >= 0 { close(end) }
        guard result == 0 else {
            for case let end? in parentEnds { close(end) }
            throw SpawnError("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        return Started(pid: pid, output: parentEnds[0], errors: parentEnds[1])
    }

    /// Waits for `pid` and returns its exit status, or the signal that ended it.
    public static func wait(_ pid: pid_t) -> (status: Int32, killedBySignal: Bool) {
        var status: Int32 = 0
        var reaped: pid_t = -1
        repeat { reaped = waitpid(pid, &status, 0) } while reaped < 0 && errno == EINTR
        guard reaped == pid else { return (-1, false) }
        if status & 0x7f == 0 { return ((status >> 8) & 0xff, false) }
        return (status & 0x7f, true)
    }

    /// Everything readable from `fd` until its end (then closes it).
    public static func readAll(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            bytes += buffer[..<count]
        }
        close(fd)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Runs `executable` to its end; returns its status, its output and its errors (collected in
    /// a temporary file, so a child that writes much to both never stalls on a full pipe).
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]
    ) throws -> (status: Int32, output: String, errors: String) {
        let errorsPath = NSTemporaryDirectory() + "durable-spawn-\(UUID().uuidString)"
        defer { unlink(errorsPath) }
        let started = try start(
            executable, arguments, environment: environment, output: .pipe, errors: .file(errorsPath))
        let output = readAll(started.output!)
        let (status, _) = wait(started.pid)
        let errors = (try? String(contentsOfFile: errorsPath, encoding: .utf8)) ?? ""
        return (status, output, errors)
    }
}

/// A process that could not be started.
public struct SpawnError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
    init(_ description: String) { self.description = description }
}
