#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DurableWorkflows
import Logging

/// Exercises every waiting and talking primitive, with a kill point inside each:
///
/// - `sleep`: killed 100 ms into a 400 ms durable sleep;
/// - `recv`: killed while waiting for the second message on "go" (the test sends it once it sees
///   this point fired);
/// - `between-events`: killed between `setEvent("progress", 1)` and `2`;
/// - `mid-stream`: killed after items 1 and 2 of stream "items";
/// - `child`: killed 100 ms into the child's 300 ms step.
///
/// Each point fires once (see ``LedgerWorkflow`` for `KILL_AT` and `FIRED`). The result is
/// "<first message>+<second message>+child-<id>".
struct PrimitivesWorkflow: Workflow {
    static let name = "primitives"
    let killer: LedgerWorkflow

    func run(_ id: String, context: WorkflowContext) async throws -> String {
        dieSoon("sleep", after: .milliseconds(100))
        try await context.sleep(for: .milliseconds(400))
        let first = try await context.recv(topic: "go", as: String.self, timeout: .seconds(120)) ?? "none"
        dieSoon("recv", after: .milliseconds(100))
        let second = try await context.recv(topic: "go", as: String.self, timeout: .seconds(120)) ?? "none"
        try await context.setEvent("progress", 1)
        killer.maybeDie("between-events")
        try await context.setEvent("progress", 2)
        try await context.setEvent("progress", 3)
        try await context.writeStream("items", 1)
        try await context.writeStream("items", 2)
        killer.maybeDie("mid-stream")
        try await context.writeStream("items", 3)
        try await context.closeStream("items")
        let child = try await context.startChild(PrimitivesChild.self, id)
        dieSoon("child", after: .milliseconds(100))
        return "\(first)+\(second)+\(try await child.result())"
    }

    /// Kills the process `delay` from now, while the workflow waits in its next primitive.
    func dieSoon(_ point: String, after delay: Duration) {
        guard killer.killPoints.contains(point), !killer.hasFired(point) else { return }
        Task.detached {
            try? await Task.sleep(for: delay)
            killer.maybeDie(point)
        }
    }
}

/// The child: one 300 ms step that notes `child-run <id>` in the ledger when its body runs.
struct PrimitivesChild: Workflow {
    static let name = "primitives-child"
    let killer: LedgerWorkflow

    func run(_ id: String, context: WorkflowContext) async throws -> String {
        try await context.step("work") { () -> String in
            killer.note("child-run \(id)")
            try await Task.sleep(for: .milliseconds(300))
            return "child-\(id)"
        }
    }
}

extension TestHelper {
    static func runPrimitives(directory: String, ledgerPath: String, id: String) async throws {
        let environment = { (name: String) -> String? in getenv(name).map { String(cString: $0) } }
        let killer = LedgerWorkflow(
            ledger: open(ledgerPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644),
            killPoints: Set((environment("KILL_AT") ?? "").split(separator: ",").map(String.init)),
            firedPath: environment("FIRED"), stepSleepMilliseconds: 0)
        var configuration = DurableEngine.Configuration(applicationVersion: "primitives")
        configuration.recoveryInterval = .milliseconds(50)
        configuration.logger.logLevel = .warning
        let engine = try TestHelper.engine(at: directory, configuration)
        engine.register(PrimitivesWorkflow(killer: killer))
        engine.register(PrimitivesChild(killer: killer))
        try await engine.launch()
        let result = try await engine.start(PrimitivesWorkflow.self, id, id: id).result()
        print(result)
        fflush(stdout)
        await engine.shutdown()
    }
}
