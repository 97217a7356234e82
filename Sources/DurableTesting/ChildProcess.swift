import Foundation

/// A real child process running one of the package's built executables, killable with SIGKILL.
public final class ChildProcess {
    let process = Process()
    let output = Pipe()

    /// Starts `executable` (found beside the test binary) with `arguments` and extra `environment`.
    public init(
        _ executable: String = "DurableTestHelper", _ arguments: [String], environment: [String: String] = [:]
    ) throws {
        process.executableURL = URL(fileURLWithPath: builtExecutable(executable))
        process.arguments = arguments
        process.standardOutput = output
        var merged = ProcessInfo.processInfo.environment
        merged["SWIFT_BACKTRACE"] = "enable=no"  // a crash report would slow every kill down
        merged.merge(environment) { $1 }
        process.environment = merged
        try process.run()
    }

    /// The child's process ID.
    public var pid: Int32 { process.processIdentifier }

    /// Sends SIGKILL and waits for the process to be gone.
    public func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Waits for the process to exit; returns its exit status, or the signal that ended it.
    @discardableResult
    public func wait() -> (status: Int32, killedBySignal: Bool) {
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason == .uncaughtSignal)
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
        var bytes: [UInt8] = []
        while true {
            let chunk = output.fileHandleForReading.readData(ofLength: 1)
            if chunk.isEmpty || chunk.first == UInt8(ascii: "\n") { break }
            bytes += chunk
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Everything the child printed, once it has exited.
    public func allOutput() -> String {
        String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }
}
