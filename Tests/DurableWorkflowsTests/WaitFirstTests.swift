import DurableTesting
import DurableWorkflows
import Foundation
import Testing

@Suite("Waiting for the first of several workflows", .timeLimit(.minutes(3)))
struct WaitFirstTests {
    @Test("waitFirst returns the child that ends first, records it, and a recovered parent gets the same one")
    func firstChildIsRecorded() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        // The first engine's "slow" child never ends (a shutdown interrupts it), so "fast" ends first
        // however loaded the machine; in the second engine it ends at once.
        let register = { (engine: DurableEngine, blockSlow: Bool) in
            engine.register(name: "nap") { (ms: Int, context: WorkflowContext) -> Int in
                try await context.step("nap") { () -> Int in
                    if blockSlow && ms > 1000 { try await Task.sleep(for: .seconds(3600)) }
                    return ms
                }
            }
            engine.register(name: "race") { (_: Int, context: WorkflowContext) -> String in
                let slow = try await context.startChild(name: "nap", 2000, id: "slow", as: Int.self)
                let fast = try await context.startChild(name: "nap", 10, id: "fast", as: Int.self)
                let first = try await context.waitFirst([slow, fast])
                try await context.step("after") { () -> Void in
                    counter.hit("after")
                    if counter["after"] == 1 { try await Task.sleep(for: .seconds(3600)) }  // interrupted once
                }
                return "\(first.workflowID) \(try await first.result())"
            }
        }
        let engine = try makeEngine(dir)
        register(engine, true)
        try await engine.launch()
        _ = try await engine.start(name: "race", 0, id: "race", as: String.self)
        while counter["after"] == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let recorded = try #require(try await engine.steps(of: "race").first { $0.name == "DBOS.waitFirst" })
        #expect(recorded.output == #""fast""# && recorded.key == "slow,fast")
        await engine.shutdown()

        // Recovered where "slow" ends at once: still "fast", from the log.
        let next = try makeEngine(dir)
        register(next, false)
        try await next.launch()
        #expect(try await next.handle(for: "slow", as: Int.self).result() == 2000)
        #expect(try await next.handle(for: "race", as: String.self).result() == "fast 10")
        try await next.expectReplaysCleanly()
        await next.shutdown()
    }
}
