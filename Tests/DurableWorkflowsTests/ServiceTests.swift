import DurableTesting
import DurableWorkflows
import Foundation
import Logging
import ServiceLifecycle
import Testing

@Suite("The engine as a service-lifecycle Service", .timeLimit(.minutes(3)))
struct ServiceTests {
    @Test(
        "a ServiceGroup runs the engine; graceful shutdown interrupts a step without recording it, and a later engine finishes the workflow"
    )
    func gracefulShutdownLeavesWorkMidStepPending() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let register = { (engine: DurableEngine) in
            engine.register(name: "slow") { (_: Int, context: WorkflowContext) -> String in
                _ = try await context.step("first") { "done" }
                return try await context.step("long") {
                    counter.hit("long")
                    if counter["long"] == 1 { try await Task.sleep(for: .seconds(30)) }  // interrupted
                    return "finished"
                }
            }
        }
        let engine = try makeEngine(dir)
        register(engine)
        let group = ServiceGroup(services: [engine], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        var launched = false
        for _ in 0..<500 where !launched {
            launched = (try? await engine.start(name: "slow", 0, id: "slow-1", as: String.self)) != nil
            if !launched { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(launched, "the group launched the engine")
        while counter["long"] == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let stopping = ContinuousClock.now
        await group.triggerGracefulShutdown()
        try await running.value
        // The step sleeps 30 s; the bound leaves room for a loaded suite (2 cores, 170 tests at once).
        #expect(ContinuousClock.now - stopping < .seconds(25), "the step's sleep did not hold the shutdown")
        #expect(try await engine.status(of: "slow-1") == .pending)
        #expect(try await engine.steps(of: "slow-1").map(\.name) == ["first"], "the interrupted step is not recorded")

        let next = try makeEngine(dir)
        register(next)
        try await next.launch()
        #expect(try await next.handle(for: "slow-1", as: String.self).result() == "finished")
        #expect(counter["long"] == 2)
        await next.shutdown()
    }
}
