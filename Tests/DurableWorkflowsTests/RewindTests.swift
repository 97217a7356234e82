import DurableTesting
import DurableWorkflows
import Foundation
import Testing

@Suite("Rewinding a finished workflow", .timeLimit(.minutes(3)))
struct RewindTests {
    /// reserve (1), recv (2, with the sleep of its timeout at 3), setEvent (4), charge (5): each
    /// real run of a step is counted, and charge's result says which run it was.
    private func register(_ engine: DurableEngine, counter: RunCounter) {
        engine.register(name: "pay") { (_: Int, context: WorkflowContext) -> String in
            let reserved = try await context.step("reserve") { () -> Int in
                counter.hit("reserve")
                return 7
            }
            let note = try await context.recv(topic: "note", as: String.self, timeout: .seconds(60)) ?? "none"
            try await context.setEvent("phase", "charging \(counter["charge"] + 1)")
            let run = try await context.step("charge") { () -> Int in
                counter.hit("charge")
                return counter["charge"]
            }
            return "\(reserved) \(note) run \(run)"
        }
    }

    @Test("rewind to a step replays the steps before it, re-runs the rest and receives their messages again")
    func rewindRerunsTheTail() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let engine = try makeEngine(dir)
        register(engine, counter: counter)
        try await engine.launch()
        let first = try await engine.start(name: "pay", 0, id: "pay", as: String.self)
        try await engine.send(to: "pay", topic: "note", "hello")
        #expect(try await first.result() == "7 hello run 1")

        let again = try await engine.rewind("pay", toStep: 2, as: String.self)
        #expect(try await again.result() == "7 hello run 2", "the message the recv took is delivered again")
        #expect(counter["reserve"] == 1, "step 1 is before the cut: replayed")
        #expect(counter["charge"] == 2, "step 5 is after the cut: run again")
        #expect(try await engine.getEvent("pay", key: "phase", as: String.self) == "charging 2")

        let history = WorkflowHistory(workflowID: "pay", events: try await engine.storage.history(of: "pay"))
        #expect(history.resumes.map(\.fromStep) == [2])
        #expect(history.steps.map(\.name) == ["reserve", "DBOS.recv", "DBOS.sleep", "DBOS.setEvent", "charge"])
        #expect(history.status == .success && history.attempts.isEmpty)
        try await engine.expectReplaysCleanly()

        // A rewind to 1 runs everything again; one past the last step only re-runs the ending.
        #expect(try await engine.rewind("pay", toStep: 1, as: String.self).result() == "7 hello run 3")
        #expect(counter["reserve"] == 2)
        #expect(try await engine.rewind("pay", toStep: 6, as: String.self).result() == "7 hello run 3")
        #expect(counter["charge"] == 3)
        await engine.shutdown()
    }

    @Test("rewind refuses a running workflow, a step out of range and an unknown ID, naming the workflow")
    func rewindRefusals() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let engine = try makeEngine(dir)
        register(engine, counter: counter)
        try await engine.launch()
        let handle = try await engine.start(name: "pay", 0, id: "waiting", as: String.self)
        while try await engine.steps(of: "waiting").isEmpty { try await Task.sleep(for: .milliseconds(5)) }

        let running = await #expect(throws: WorkflowError.self) { try await engine.rewind("waiting", as: String.self) }
        #expect(running?.code == .invalidState && running?.workflowID == "waiting")
        try await engine.send(to: "waiting", topic: "note", "go")
        _ = try await handle.result()
        for step in [0, 7] {
            let range = await #expect(throws: WorkflowError.self) {
                try await engine.rewind("waiting", toStep: step, as: String.self)
            }
            #expect(range?.code == .invalidArgument && range?.message.contains("steps 1 to 5") == true)
        }
        let unknown = await #expect(throws: WorkflowError.self) { try await engine.rewind("nobody", as: String.self) }
        #expect(unknown?.code == .notFound && "\(unknown!)".contains("nobody"))
        #expect(try await engine.status(of: "waiting") == .success, "a refused rewind changes nothing")
        await engine.shutdown()
    }

    @Test("`durable rewind` puts the workflow back on the internal queue, and a running engine re-runs it")
    func rewindFromTheCommandLine() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let engine = try makeEngine(dir)
        register(engine, counter: counter)
        try await engine.launch()
        let first = try await engine.start(name: "pay", 0, id: "cli", as: String.self)
        try await engine.send(to: "cli", topic: "note", "hi")
        #expect(try await first.result() == "7 hi run 1")

        let (status, _, output) = try await ChildProcess(
            "durable", ["rewind", "cli", "--to-step", "5", "--dir", dir.data]
        ).finish()
        #expect(status == 0, "\(output)")
        #expect(output.contains("rewound to step 5"))
        let deadline = ContinuousClock.now + .seconds(60)
        while counter["charge"] < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(try await engine.handle(for: "cli", as: String.self).result() == "7 hi run 2")
        #expect(counter["reserve"] == 1)

        let inspect = try await ChildProcess("durable", ["inspect", "cli", "--dir", dir.data]).finish()
        #expect(inspect.output.contains("rewound to step 5"), "\(inspect.output)")
        let refused = try await ChildProcess("durable", ["rewind", "cli", "--to-step", "9", "--dir", dir.data])
            .finish()
        #expect(refused.status == 64, "a step out of range is a usage error")
        await engine.shutdown()
    }
}
