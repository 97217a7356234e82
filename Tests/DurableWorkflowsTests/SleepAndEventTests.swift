import DurableLog
import DurableTesting
import DurableWorkflows
import Foundation
import Testing

@Suite("Durable sleep and events", .timeLimit(.minutes(3)))
struct SleepAndEventTests {
    @Test("a durable sleep records its wake-up time and waits on the injected clock")
    func sleepRecordsWakeUpTime() async throws {
        let dir = TemporaryDirectory()
        let clock = ManualClock(start: 1_800_000_000_000)
        let engine = try makeEngine(dir, clock: clock)
        engine.register(name: "nap") { (_: Int, context: WorkflowContext) -> Int in
            try await context.sleep(for: .seconds(10))
            return 1
        }
        try await engine.launch()
        #expect(try await engine.start(name: "nap", 0, id: "nap", as: Int.self).result() == 1)
        #expect(clock.sleeps == [.seconds(10)])
        let step = try #require(try await engine.steps(of: "nap").first)
        #expect(step.name == "DBOS.sleep" && step.kind == "sleep")
        #expect(step.output == "1800000010.0")
        await engine.shutdown()
    }

    @Test("a workflow recovered mid-sleep sleeps only the remainder")
    func recoveredSleepSleepsTheRemainder() async throws {
        let dir = TemporaryDirectory()
        let body: @Sendable (Int, WorkflowContext) async throws -> Int = { _, context in
            try await context.sleep(for: .milliseconds(5000))
            return 7
        }
        let first = try makeEngine(dir)
        first.register(name: "long-nap", body)
        try await first.launch()
        _ = try await first.start(name: "long-nap", 0, id: "nap", as: Int.self)
        #expect(try await eventually { try await first.steps(of: "nap").contains { $0.name == "DBOS.sleep" } })
        await first.shutdown()  // the executor goes away mid-sleep; the wake-up time is in the log

        let clock = RecordingClock()
        let second = try makeEngine(dir, clock: clock)
        second.register(name: "long-nap", body)
        #expect(try await second.launch() == ["nap"])
        #expect(try await second.handle(for: "nap", as: Int.self).result() == 7)
        // What it waited for is what remained of the recorded wake-up time (less than the 5 s, or
        // nothing if this process was slow to start), never the whole sleep again.
        let waits = clock.sleeps
        #expect(waits.count <= 1 && waits.allSatisfy { $0 < .milliseconds(5000) }, "slept \(waits)")
        #expect(try await second.steps(of: "nap").filter { $0.name == "DBOS.sleep" }.count == 1)
        await second.shutdown()
    }

    @Test(
        "a workflow's getEvent is recorded: a replay returns the value it read, though the event changed since",
        .timeLimit(.minutes(3)))
    func workflowGetEventIsRecorded() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        engine.register(name: "publisher") { (_: Int, context: WorkflowContext) -> String in
            try await context.setEvent("status", "paid")
            _ = try await context.recv(topic: "refund", as: String.self, timeout: .seconds(30))
            try await context.setEvent("status", "refunded")
            return "refunded"
        }
        engine.register(name: "reader") { (source: String, context: WorkflowContext) -> String in
            let seen = try await context.getEvent(of: source, key: "status", as: String.self, timeout: .seconds(30))
            let missing = try await context.getEvent(
                of: source, key: "absent", as: String.self, timeout: .milliseconds(20))
            let tail = try await context.step("tail") { () -> String in "tail" }
            return "\(seen ?? "-") \(missing ?? "nil") \(tail)"
        }
        try await engine.launch()
        let publisher = try await engine.start(name: "publisher", 0, id: "pub-1", as: String.self)
        #expect(
            try await engine.start(name: "reader", "pub-1", id: "reader", as: String.self).result() == "paid nil tail")
        let steps = try await engine.steps(of: "reader")
        #expect(steps.map(\.name) == ["DBOS.getEvent", "DBOS.sleep", "DBOS.getEvent", "DBOS.sleep", "tail"])
        #expect(steps.map(\.functionID) == [1, 2, 3, 4, 5])
        #expect(steps[0].output == #""paid""# && steps[2].output == "null")

        // A fork from the step after the reads replays them: the recorded value, not the new one.
        try await engine.send(to: "pub-1", topic: "refund", "now")
        _ = try await publisher.result()
        #expect(try await engine.getEvent("pub-1", key: "status", as: String.self) == "refunded")
        #expect(
            try await engine.fork("reader", fromStep: 5, newID: "reader-fork", as: String.self).result()
                == "paid nil tail")
        try await engine.expectReplaysCleanly()  // the communication logs replay cleanly
        await engine.shutdown()
    }

    @Test("events keep the latest value per key and the full history, readable after the workflow ended")
    func eventsLatestAndHistory() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        engine.register(name: "order") { (_: Int, context: WorkflowContext) -> String in
            try await context.setEvent("status", "paid")
            try await context.setEvent("status", "shipped")
            try await context.setEvent("tracking", ["id": "T-1"])
            return "done"
        }
        try await engine.launch()
        _ = try await engine.start(name: "order", 0, id: "o", as: String.self).result()
        #expect(try await engine.getEvent("o", key: "status", as: String.self, timeout: .seconds(1)) == "shipped")
        #expect(try await engine.getEvent("o", key: "tracking", as: [String: String].self) == ["id": "T-1"])
        // A key the finished workflow never set: nil at once, not after the timeout.
        let start = ContinuousClock.now
        #expect(try await engine.getEvent("o", key: "refund", as: String.self, timeout: .seconds(30)) == nil)
        #expect(ContinuousClock.now - start < .seconds(5))
        let history = try WorkflowHistory(engine.store.readLog(name: "o")).eventHistory
        #expect(history.map(\.key) == ["status", "status", "tracking"])
        #expect(history.map(\.value) == ["\"paid\"", "\"shipped\"", "{\"id\":\"T-1\"}"])
        try await engine.expectReplaysCleanly()  // the communication logs replay cleanly
        await engine.shutdown()
    }

    @Test("getEvent times out with nil while the workflow runs")
    func getEventTimesOut() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        engine.register(name: "slow") { (_: Int, context: WorkflowContext) -> Int in
            try await context.sleep(for: .seconds(3600))
            return 0
        }
        try await engine.launch()
        _ = try await engine.start(name: "slow", 0, id: "slow", as: Int.self)
        let start = ContinuousClock.now
        #expect(try await engine.getEvent("slow", key: "never", as: Int.self, timeout: .milliseconds(200)) == nil)
        let waited = ContinuousClock.now - start
        // Returns at its timeout, not when the hour-long sleep ends (generous: the suite runs loaded).
        #expect(waited >= .milliseconds(190) && waited < .seconds(15))
        await engine.shutdown()
    }

    /// Latency is measured by the benchmark; this proves the value crosses processes and that
    /// the wait ends on the change, not on the (20 s) timeout.
    @Test("getEvent in another process returns the value set there, woken by the change")
    func getEventAcrossProcesses() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        try await engine.launch()
        var latencies: [Int64] = []
        for round in 0..<5 {
            let id = "eventer-\(round)"
            let child = try ChildProcess("DurableTestHelper", ["set-event", dir.data, id, "300"])
            let setAt = try await engine.getEvent(id, key: "ready", as: Int64.self, timeout: .seconds(20))
            let seenAt = Int64(Date().timeIntervalSince1970 * 1000)
            let value = try #require(setAt)
            latencies.append(seenAt - value)
            #expect(child.wait().status == 0)
        }
        latencies.sort()
        // Far below the 20 s timeout, with room for a suite that starts 170 tests on 2 cores at once.
        #expect(latencies[2] < 10_000, "median cross-process event latency \(latencies) ms")
        await engine.shutdown()
    }
}
