import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real child process running one of the package's built executables, killable with SIGKILL.
/// Started with `posix_spawn` (see ``Spawn``); its standard error is the parent's.
public final class ChildProcess {
    private let started: Spawn.Started
    private var exit: (status: Int32, killedBySignal: Bool)?

    /// Starts `executable` (found beside the test binary) with `arguments` and extra `environment`.
    public init(
        _ executable: String = "DurableTestHelper", _ arguments: [String], environment: [String: String] = [:]
    ) throws {
        var merged = ProcessInfo.processInfo.environment
        merged["SWIFT_BACKTRACE"] = "enable=no"  // a crash report would slow every kill down
        merged.merge(environment) { $1 }
        started = try Spawn.start(builtExecutable(executable), arguments, environment: merged)
    }

    deinit {
        if let output = started.output { close(output) }
    }

    /// The child's process ID.
    public var pid: Int32 { started.pid }

    /// Sends SIGKILL and waits for the process to be gone.
    public func kill() {
        Glibc.kill(started.pid, SIGKILL)
        wait()
    }

    /// Waits for the process to exit; returns its exit status, or the signal that ended it.
    @discardableResult
    public func wait() -> (status: Int32, killedBySignal: Bool) {
        if let exit { return exit }
        let reaped = Spawn.wait(started.pid)
        exit = reaped
        return reaped
    }

    /// Waits for the process to exit and returns its status and everything it printed, without
    /// blocking a Swift concurrency thread: the blocking read and wait run on a thread of their
    /// own. (An async test that waits with ``wait()`` holds one of the cooperative pool's threads,
    /// two on this machine, for as long as the child runs, and stalls every other test.)
    public func finish() async -> (status: Int32, killedBySignal: Bool, output: String) {
        // The object is not Sendable; it is handed to the thread and not touched by the awaiting
        // task until the thread has resumed it, so no two threads use it at once.
        nonisolated(unsafe) let child = self
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let output = child.allOutput()
                let (status, killed) = child.wait()
                continuation.resume(returning: (status, killed, output))
            }
        }
    }

    /// Reads the first line the child prints.
    public func firstLine() -> String {
        guard let fd = started.output else { return "" }
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = read(fd, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 || byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Everything the child printed (from where earlier reads stopped), once it has exited.
    public func allOutput() -> String {
        guard let fd = started.output else { return "" }
        return Spawn.readAll(dup(fd))
    }
}
