// The demo behind the README's first command: durable execution, for real.
//
// The demo process starts a worker process that runs a five-step order workflow on the data
// directory `.durable/` (the embedded default), kills it with SIGKILL right after step 3 is
// checkpointed, shows what the log holds, then starts a second worker that recovers the
// workflow: steps 1-3 come back from the log, steps 4-5 run.
import DurableCLI
import DurablePostgres
import DurableWorkflows
import Foundation
import Logging

@main
struct Demo {
    static let directory = ProcessInfo.processInfo.environment["DURABLE_DIR"] ?? ".durable"
    /// Where the demo's workflows live: the directory, or the PostgreSQL `DURABLE_DATABASE_URL` names.
    static let place: String = {
        guard let url = ProcessInfo.processInfo.environment[StoreSelection.databaseURLVariable], !url.isEmpty else {
            return directory + "/"
        }
        return (try? PostgresLocation(url: url).description) ?? url
    }()

    static func main() async throws {
        let arguments = CommandLine.arguments
        if arguments.count >= 3, arguments[1] == "worker" {
            try await worker(id: arguments[2])
            return
        }
        if arguments.count >= 2 {
            // `durable-demo replay-verify [--dir D] [--json]`, and every other `durable` command,
            // with the demo's workflow registered.
            await DurableCommand.runAsMain(registering: register)
            return
        }
        try await orchestrate()
    }

    /// The demo's workflows, registered on an engine (quiet: a replay prints nothing of its own).
    @Sendable static func register(_ engine: DurableEngine) {
        engine.register(ProcessOrder(say: { _ in }))
    }

    /// The process that gets killed, and the one that recovers: the same code, started twice.
    static func worker(id: String) async throws {
        let pid = ProcessInfo.processInfo.processIdentifier
        let say: @Sendable (String) -> Void = { line in
            FileHandle.standardOutput.write(Data("[worker \(pid)] \(line)\n".utf8))
        }
        var configuration = DurableEngine.Configuration(applicationVersion: "demo-1")
        configuration.logger.logLevel = .warning
        let engine = try DurableEngine.fromEnvironment(directory: directory, configuration: configuration)
        engine.register(ProcessOrder(say: say))
        let recovered = try await engine.launch()
        let handle: WorkflowHandle<ProcessOrder.Confirmation>
        if recovered.contains(id) {
            say("launch() found workflow \(id) PENDING with a free lease: recovering it from its log")
            handle = engine.handle(for: id)
        } else {
            say("starting workflow \(id)")
            handle = try await engine.start(
                ProcessOrder.self, .init(id: id, item: "espresso machine", cents: 24_900), id: id)
        }
        let confirmation = try await handle.result()
        say(
            "workflow finished: order \(confirmation.order), charge \(confirmation.charge), tracking \(confirmation.tracking)"
        )
        await engine.shutdown()
    }

    static func orchestrate() async throws {
        let id = "order-\(Int(Date().timeIntervalSince1970))"
        print(
            """
            swift-durable demo: a five-step workflow on \(place), killed with SIGKILL mid-run and resumed.

            1. A worker process starts workflow \(id).
            """)
        let first = try spawnWorker(id: id)
        var lines = 0
        while let line = first.readLine() {
            print(line)
            if line.contains("step 3 charge-card: done and checkpointed") { break }
            lines += 1
            if lines > 100 { break }
        }
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        print(
            "\n2. The demo sent SIGKILL to worker \(first.process.processIdentifier) right after step 3 was checkpointed."
        )

        let client = try DurableClient.fromEnvironment(directory: directory)
        let history = WorkflowHistory(workflowID: id, events: try await client.storage.history(of: id))
        print(
            "   The log now says: status \(history.status), \(history.steps.count) checkpointed steps: "
                + history.steps.map { "\($0.functionID) \($0.name)" }.joined(separator: ", "))
        print("   (`swift run durable inspect \(id)` shows the same from the command line.)")

        print("\n3. A new worker process launches the engine on the same store.")
        let second = try spawnWorker(id: id)
        while let line = second.readLine() { print(line) }
        second.process.waitUntilExit()
        guard second.process.terminationStatus == 0 else {
            print("the recovering worker failed (status \(second.process.terminationStatus))")
            exit(1)
        }
        let final = WorkflowHistory(workflowID: id, events: try await client.storage.history(of: id))
        print(
            """

            4. Result: workflow \(id) is \(final.status); steps 1-3 ran once (in the killed process) and were
               replayed from the log, steps 4-5 ran in the new process. Output: \(final.output ?? "-")
               Inspect it: swift run durable inspect \(id)
            """)

        // The same log is the test of the next version of the code: replayed against it, with
        // every step answered from the log, nothing run and nothing written.
        let replayEngine = try DurableEngine.fromEnvironment(directory: directory)
        register(replayEngine)
        let replay = try await WorkflowReplayer(engine: replayEngine).replay(id)
        print(
            """

            5. Replayed against the code: \(replay)
               Before deploying a change, check every recorded workflow: swift run durable-demo replay-verify
            """)
    }

    static func spawnWorker(id: String) throws -> Worker {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["worker", id]
        let pipe = Pipe()
        process.standardOutput = pipe
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        try process.run()
        return Worker(process: process, pipe: pipe)
    }
}

/// A running worker and its output, line by line.
final class Worker {
    let process: Process
    let pipe: Pipe
    private var buffer: [UInt8] = []

    init(process: Process, pipe: Pipe) {
        self.process = process
        self.pipe = pipe
    }

    func readLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty {
                if buffer.isEmpty { return nil }
                defer { buffer = [] }
                return String(decoding: buffer, as: UTF8.self)
            }
            buffer += chunk
        }
    }
}
