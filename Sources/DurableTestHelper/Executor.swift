#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DurableWorkflows
import Logging

/// Workflows an executor process runs for the client and crash tests.
enum HelperWorkflows {
    /// `greet`: returns "hello <name>".
    /// `conversation`: waits for a message on "go", sets event "got" to it, streams 1...3, returns it.
    /// `long-wait`: waits up to an hour for a message (something to cancel).
    /// `family`: starts two `long-wait` children and waits for both.
    static func register(on engine: DurableEngine) {
        engine.register(name: "greet") { (name: String, _: WorkflowContext) in "hello \(name)" }
        engine.register(name: "conversation") { (_: String, context: WorkflowContext) -> String in
            let message = try await context.recv(topic: "go", as: String.self, timeout: .seconds(3600)) ?? "nothing"
            try await context.setEvent("got", message)
            for item in 1...3 { try await context.writeStream("numbers", item) }
            try await context.closeStream("numbers")
            return message
        }
        engine.register(name: "long-wait") { (_: String, context: WorkflowContext) -> String in
            try await context.recv(as: String.self, timeout: .seconds(3600)) ?? "timeout"
        }
        engine.register(name: "family") { (_: String, context: WorkflowContext) -> String in
            let a = try await context.startChild(LongWait.self, "a")
            let b = try await context.startChild(LongWait.self, "b")
            return try await a.result() + b.result()
        }
    }

    struct LongWait: Workflow {
        static let name = "long-wait"
        func run(_ input: String, context: WorkflowContext) async throws -> String {
            fatalError("registered by closure")
        }
    }
}

extension TestHelper {
    /// `executor <dir> [<queue>...]`: runs HelperWorkflows (and serves the named queues) until the test is gone.
    static func runExecutor(directory: String, queues: [String]) async throws {
        var configuration = DurableEngine.Configuration(applicationVersion: "client-test")
        configuration.recoveryInterval = .milliseconds(50)
        configuration.logger.logLevel = .warning
        let engine = try TestHelper.engine(at: directory, configuration)
        HelperWorkflows.register(on: engine)
        for queue in queues { engine.register(WorkflowQueue(queue, concurrency: 2)) }
        try await engine.launch()
        try await serveUntilParentGoes(engine)
    }
}
