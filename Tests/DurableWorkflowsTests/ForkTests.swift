import DurableLog
import DurableTesting
import DurableWorkflows
import Foundation
import Testing

@Suite("Fork", .timeLimit(.minutes(3)))
struct ForkTests {
    @Test("forking a 5-step workflow from every step reuses the steps before it and runs the rest", arguments: 1...6)
    func forkFromEveryStep(fromStep: Int) async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let engine = try makeEngine(dir)
        engine.register(name: "five", fiveSlowSteps(counter: counter, delay: 0))
        try await engine.launch()
        #expect(try await engine.start(name: "five", 0, id: "orig", as: Int.self).result() == 15)
        let fork = try await engine.fork("orig", fromStep: fromStep, newID: "fork-\(fromStep)", as: Int.self)
        #expect(try await fork.result() == 15)
        for k in 1...5 {
            #expect(counter["s\(k)"] == (k < fromStep ? 1 : 2), "step \(k) after a fork from step \(fromStep)")
        }
        let summary = try #require(try await engine.listWorkflows().first { $0.workflowID == "fork-\(fromStep)" })
        #expect(summary.status == .success)
        #expect(try engine.store.readLog(name: "fork-\(fromStep)").indexFields.forkedFrom == "orig")
        #expect(try await engine.steps(of: "fork-\(fromStep)").map(\.functionID) == [1, 2, 3, 4, 5])
        await engine.shutdown()
    }

    @Test("a fork from a step that does not exist is refused; `durable fork` leaves the fork to an engine")
    func forkValidationAndCLI() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let engine = try makeEngine(dir)
        engine.register(name: "five", fiveSlowSteps(counter: counter, delay: 0))
        try await engine.launch()
        _ = try await engine.start(name: "five", 0, id: "base", as: Int.self).result()
        await #expect(throws: WorkflowError.self) { _ = try await engine.fork("base", fromStep: 7, as: Int.self) }
        await #expect(throws: WorkflowError.self) { _ = try await engine.fork("base", fromStep: 0, as: Int.self) }
        let cli = try ChildProcess(
            "durable", ["fork", "base", "--from-step", "4", "--new-id", "cli-fork", "--dir", dir.data])
        #expect(cli.allOutput().contains("cli-fork"))
        #expect(cli.wait().status == 0)
        // This engine's recovery sweep (same version, registered) picks the fork up.
        #expect(try await engine.handle(for: "cli-fork", as: Int.self).result() == 15)
        #expect(counter["s3"] == 1 && counter["s4"] == 2)
        await engine.shutdown()
    }
}
