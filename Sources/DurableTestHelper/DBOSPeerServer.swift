import DurableWorkflows
import Logging

extension TestHelper {
    /// `dbos-peer <location>`: an executor serving workflow `py-echo` on queue `py-q` for DBOS
    /// Python clients (the interop tests): it takes its input, upper-cases it in a step, waits for
    /// a message on topic `go`, and returns `"<INPUT>:<message>"`. Prints `ready`, then serves
    /// until the parent process goes.
    static func runDBOSPeer(location: String) async throws {
        var configuration = DurableEngine.Configuration(applicationVersion: "py-interop")
        configuration.logger.logLevel = .warning
        let engine = try TestHelper.engine(at: location, configuration)
        engine.register(name: "py-echo") { (input: String, context: WorkflowContext) -> String in
            let shouted = try await context.step("shout") { input.uppercased() }
            let message = try await context.recv(topic: "go", as: String.self, timeout: .seconds(60)) ?? "none"
            return "\(shouted):\(message)"
        }
        engine.register(WorkflowQueue("py-q"))
        try await engine.launch()
        try await serveUntilParentGoes(engine)
    }
}
