import DurableLog
import DurableTesting
import DurableWorkflows
import Foundation
import Testing

/// Waits (in real time) until `condition` holds, up to `timeout`.
func eventually(_ timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

@Suite("Debouncing", .timeLimit(.minutes(3)))
struct DebouncerTests {
    /// An engine on a manual clock with a `reindex` workflow that records its inputs.
    func setUp(_ dir: TemporaryDirectory, _ clock: ManualClock, _ runs: RunCounter) async throws -> DurableEngine {
        let engine = try makeEngine(dir, clock: clock)
        engine.register(name: "reindex") { (version: String, context: WorkflowContext) -> String in
            try await context.step("index") { () -> String in
                runs.hit(version)
                runs.hit("any")
                return "indexed \(version)"
            }
        }
        try await engine.launch()
        return engine
    }

    /// Tells the dispatchers the manual clock moved (they otherwise look again within a second).
    func nudge(_ engine: DurableEngine) async throws {
        try await engine.storage.wake(queue: WorkflowQueue.internalQueueName)
    }

    @Test("calls within the period push the start back; the workflow runs once, with the last input")
    func lastInputWins() async throws {
        let dir = TemporaryDirectory()
        let clock = ManualClock()
        let runs = RunCounter()
        let engine = try await setUp(dir, clock, runs)
        let debouncer = Debouncer<String, String>(name: "reindex", engine: engine)
        let first = try await debouncer.debounce(key: "doc-1", period: .seconds(5), "v1")
        #expect(try await first.status() == .delayed)
        clock.advance(by: .seconds(3))
        let second = try await debouncer.debounce(key: "doc-1", period: .seconds(5), "v2")
        #expect(second.workflowID == first.workflowID)
        clock.advance(by: .seconds(3))  // 6 s after the first call, 3 s after the last: not due
        try await nudge(engine)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await first.status() == .delayed && runs["any"] == 0)
        // Another key is debounced on its own.
        let other = try await debouncer.debounce(key: "doc-2", period: .seconds(1), "w1")
        #expect(other.workflowID != first.workflowID)
        clock.advance(by: .seconds(3))
        try await nudge(engine)
        #expect(try await first.result() == "indexed v2")
        #expect(try await other.result() == "indexed w1")
        #expect(runs["v1"] == 0 && runs["v2"] == 1 && runs["any"] == 2)
        // Once it has run, the next call starts a new debounced run.
        let next = try await debouncer.debounce(key: "doc-1", period: .seconds(5), "v3")
        #expect(next.workflowID != first.workflowID)
        clock.advance(by: .seconds(6))
        try await nudge(engine)
        #expect(try await next.result() == "indexed v3")
        await engine.shutdown()
    }

    @Test("max wait: a steady stream of calls cannot postpone the run beyond it")
    func maxWait() async throws {
        let dir = TemporaryDirectory()
        let clock = ManualClock()
        let runs = RunCounter()
        let engine = try await setUp(dir, clock, runs)
        let debouncer = Debouncer<String, String>(name: "reindex", engine: engine, maxWait: .seconds(10))
        let started = clock.nowMilliseconds()
        let handle = try await debouncer.debounce(key: "busy", period: .seconds(4), "e0")
        for edit in 1...3 {
            clock.advance(by: .seconds(3))
            #expect(
                try await debouncer.debounce(key: "busy", period: .seconds(4), "e\(edit)").workflowID
                    == handle.workflowID)
        }
        // 9 s in; the last call asked for 13 s, but the run is due at 10 s.
        let entry = try #require(engine.store.index.entry(forWorkflowID: handle.workflowID))
        #expect(entry.fields.delayUntil == started + 10_000)
        #expect(entry.fields.isDebounced == true && entry.fields.debounceDeadline == started + 10_000)
        clock.advance(by: .seconds(1))
        try await nudge(engine)
        #expect(try await handle.result() == "indexed e3")
        await engine.shutdown()
    }

    @Test("a pending debounced run survives a restart and runs with the last input")
    func durableAcrossRestart() async throws {
        let dir = TemporaryDirectory()
        let clock = ManualClock()
        let runs = RunCounter()
        var engine = try await setUp(dir, clock, runs)
        var debouncer = Debouncer<String, String>(name: "reindex", engine: engine)
        let handle = try await debouncer.debounce(key: "k", period: .seconds(5), "before")
        await engine.shutdown()
        engine = try await setUp(dir, clock, runs)
        debouncer = Debouncer<String, String>(name: "reindex", engine: engine)
        #expect(try await debouncer.debounce(key: "k", period: .seconds(5), "after").workflowID == handle.workflowID)
        clock.advance(by: .seconds(5))
        try await nudge(engine)
        #expect(try await engine.handle(for: handle.workflowID, as: String.self).result() == "indexed after")
        #expect(runs["any"] == 1)
        await engine.shutdown()
    }
}
