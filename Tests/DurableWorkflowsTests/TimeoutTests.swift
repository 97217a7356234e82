import DurableLog
import DurableTesting
import DurableWorkflows
import Foundation
import Testing

@Suite("Timeouts and deadlines", .timeLimit(.minutes(3)))
struct TimeoutTests {
    @Test("a workflow past its deadline is cancelled at its next wait or operation (injected clock)")
    func deadlineCancels() async throws {
        let dir = TemporaryDirectory()
        let clock = ManualClock()
        let counter = RunCounter()
        let engine = try makeEngine(dir, clock: clock)
        engine.register(name: "late") { (_: Int, context: WorkflowContext) -> Int in
            try await context.step("a") { counter.hit("a") }
            try await context.sleep(for: .seconds(4))
            try await context.step("b") { counter.hit("b") }
            try await context.sleep(for: .seconds(10))
            try await context.step("c") { counter.hit("c") }
            return 1
        }
        try await engine.launch()
        let handle = try await engine.start(name: "late", 0, id: "late", timeout: .seconds(10), as: Int.self)
        let error = await #expect(throws: PortableError.self) { try await handle.result() }
        #expect(error?.name == "WorkflowCancelled")
        #expect(error?.message.contains("deadline") == true)
        #expect(clock.sleeps == [.seconds(4), .seconds(6)], "the second sleep ends at the deadline")
        #expect(counter["a"] == 1 && counter["b"] == 1 && counter["c"] == 0)
        #expect(try await engine.status(of: "late") == .cancelled)
        let entry = try #require(engine.store.index.entry(forWorkflowID: "late"))
        #expect(entry.fields.timeoutMilliseconds == 10_000 && entry.fields.deadline == 1_800_000_010_000)
        await engine.shutdown()
    }

    @Test("the deadline survives a restart: recovered after it passed, the workflow is cancelled, not run")
    func deadlineSurvivesRestart() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let body: @Sendable (Int, WorkflowContext) async throws -> Int = { _, context in
            try await context.step("first") { counter.hit("first") }
            _ = try await context.step("slow") { () -> Int in
                counter.hit("slow")
                if counter["slow"] == 1 { try await Task.sleep(for: .seconds(3600)) }
                return 0
            }
            return 1
        }
        let first = try makeEngine(dir)
        first.register(name: "bounded", body)
        try await first.launch()
        let started = ContinuousClock.now
        _ = try await first.start(name: "bounded", 0, id: "bounded", timeout: .seconds(2), as: Int.self)
        // Under load the deadline may pass before "slow" starts; then the first engine cancels it.
        while counter["slow"] == 0, try await first.status(of: "bounded") == .pending {
            try await Task.sleep(for: .milliseconds(5))
        }
        await first.shutdown()
        try await Task.sleep(until: started + .milliseconds(2100))

        let second = try makeEngine(dir)
        second.register(name: "bounded", body)
        _ = try await second.launch()
        let error = await #expect(throws: PortableError.self) {
            try await second.handle(for: "bounded", as: Int.self).result()
        }
        #expect(error?.name == "WorkflowCancelled")
        #expect(counter["slow"] <= 1, "past the deadline, the step must not run again")
        #expect(try await second.status(of: "bounded") == .cancelled)
        await second.shutdown()
    }

    @Test("children inherit their parent's deadline")
    func childrenInheritDeadline() async throws {
        let dir = TemporaryDirectory()
        let clock = ManualClock()
        let counter = RunCounter()
        let engine = try makeEngine(dir, clock: clock)
        engine.register(Doubler(counter: counter))
        engine.register(name: "parent-with-deadline") { (n: Int, context: WorkflowContext) -> Int in
            let own = try await context.runChild(Doubler.self, n)
            let shorter = try await context.runChild(Doubler.self, n + 1, timeout: .seconds(5))
            return own + shorter
        }
        try await engine.launch()
        #expect(
            try await engine.start(name: "parent-with-deadline", 1, id: "pd", timeout: .seconds(60), as: Int.self)
                .result() == 6)
        let children = try await engine.children(of: "pd")
        let deadlines = children.map { engine.store.index.entry(forWorkflowID: $0.workflowID)?.fields.deadline }
        #expect(deadlines == [1_800_000_060_000, 1_800_000_005_000])
        await engine.shutdown()
    }
}
