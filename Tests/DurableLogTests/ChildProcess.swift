import DurableTesting
import Foundation

/// A real child process running `durable-test-helper`, killable with SIGKILL.
final class ChildProcess {
    let process = Process()
    let output = Pipe()

    init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: builtExecutable("DurableTestHelper"))
        process.arguments = arguments
        process.standardOutput = output
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        try process.run()
    }

    /// Sends SIGKILL and waits for the process to be gone.
    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Waits for the process to exit and returns its status.
    func wait() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Reads the first line the child prints.
    func firstLine() -> String {
        var bytes: [UInt8] = []
        while true {
            let chunk = output.fileHandleForReading.readData(ofLength: 1)
            if chunk.isEmpty || chunk.first == UInt8(ascii: "\n") { break }
            bytes += chunk
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
