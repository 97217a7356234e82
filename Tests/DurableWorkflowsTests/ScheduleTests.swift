import DurableLog
import DurableTesting
import DurableWorkflows
import Foundation
import Testing

/// `2026-11-20T10:01:00+00:00` for a Unix ms time.
func isoUTC(_ milliseconds: Int64) -> String {
    ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000)).replacingOccurrences(
        of: "Z", with: "+00:00")
}

@Suite("Schedules", .timeLimit(.minutes(5)))
struct ScheduleTests {
    @Test("three processes on fast-forwarding clocks across DST in two zones: exactly one run per tick")
    func threeProcessesOneRunPerTick() async throws {
        let dir = TemporaryDirectory()
        let ledger = dir.path + "/ledger"
        let start = utc("2026-10-24T00:00:00Z")
        let horizon = utc("2026-11-02T00:00:00Z")
        let workers = try (0..<3).map { _ in
            try ChildProcess("DurableTestHelper", ["cron", dir.data, ledger, "\(start)", "\(horizon)"])
        }
        defer { for worker in workers { worker.kill() } }
        for worker in workers { #expect(worker.firstLine() == "ready") }
        let ny = try CronSchedule("ny-hourly", cron: "0 * * * *", timeZone: "America/New_York")
        let berlin = try CronSchedule("berlin", cron: "30 */2 * * *", timeZone: "Europe/Berlin")
        let expected = Set(
            ny.ticks(after: start, through: horizon).map(ny.workflowID)
                + berlin.ticks(after: start, through: horizon).map(berlin.workflowID))
        #expect(
            expected.count == 216 + 108 + 1,
            "9 days (216 real hours) hourly, and every two hours plus Berlin's repeated 02:30")
        // Interval schedules fire by real time through a fall-back's repeated hour: both occurrences.
        #expect(
            expected.contains("sched-ny-hourly-2026-11-01T01:00:00-04:00")
                && expected.contains("sched-ny-hourly-2026-11-01T01:00:00-05:00"))
        #expect(
            expected.contains("sched-berlin-2026-10-25T02:30:00+02:00")
                && expected.contains("sched-berlin-2026-10-25T02:30:00+01:00"))
        let client = try DurableClient(directory: dir.data)
        var done: Set<String> = []
        let finished = try await eventually(.seconds(180)) {
            var filter = WorkflowFilter()
            filter.statuses = [.success]
            done = Set(try await client.listWorkflows(filter).map(\.workflowID))
            return done.count >= expected.count
        }
        if !finished {
            var byStatus: [String: Int] = [:]
            for summary in try await client.listWorkflows() { byStatus[summary.status.rawValue, default: 0] += 1 }
            Issue.record(
                "not all ticks finished: \(byStatus), queues: \(try await client.storage.queues().map { "\($0.name) \($0.partitions)" })"
            )
        }
        let all = Set(try await client.listWorkflows().map(\.workflowID))
        #expect(
            all.subtracting(expected).isEmpty && expected.subtracting(all).isEmpty,
            "unexpected: \(all.subtracting(expected).sorted().prefix(5)), missing: \(expected.subtracting(all).sorted().prefix(5))"
        )
        let notDone = all.subtracting(done)
        #expect(notDone.isEmpty, "\(notDone.count) not finished, e.g. \(notDone.sorted().prefix(3))")
        let lines = try String(contentsOfFile: ledger, encoding: .utf8).split(separator: "\n").map {
            $0.split(separator: " ")
        }
        var runs: [String: Int] = [:]
        for line in lines { runs[String(line[1]), default: 0] += 1 }
        #expect(
            runs.filter { $0.value != 1 }.isEmpty,
            "ticks that ran more than once: \(runs.filter { $0.value != 1 }.keys.sorted().prefix(5))")
    }

    /// An engine with a `tick-job` workflow on a clock that runs freely from `start` to `horizon`.
    func scheduledEngine(
        _ dir: TemporaryDirectory, start: Int64, horizon: Int64, catchUp: CronSchedule.CatchUp
    ) async throws -> DurableEngine {
        let engine = try makeEngine(dir, clock: ManualClock(start: start, horizon: horizon))
        engine.register(name: "tick-job") { (run: ScheduledRun, _: WorkflowContext) in run.scheduledTime }
        engine.schedule(workflowNamed: "tick-job", try CronSchedule("minutely", cron: "* * * * *", catchUp: catchUp))
        try await engine.launch()
        return engine
    }

    func ids(_ engine: DurableEngine) async throws -> Set<String> {
        Set(try await engine.listWorkflows().map(\.workflowID))
    }

    @Test("missed ticks: skipped by default, the latest N with catch-up; pause, trigger and resume")
    func catchUpPauseTrigger() async throws {
        let dir = TemporaryDirectory()
        let t0 = utc("2026-11-20T10:00:00Z")
        let minute: Int64 = 60_000
        let id = { (m: Int64) in "sched-minutely-" + isoUTC(t0 + m * minute) }
        // (Catch-up here so the ten ticks run however the engine's other sleepers move the shared
        // manual clock: one reaching the horizon first made the rest "missed" on a loaded CI run.)
        var engine = try await scheduledEngine(dir, start: t0, horizon: t0 + 10 * minute, catchUp: .latest(10))
        #expect(try await eventually { try await ids(engine).count == 10 })
        await engine.shutdown()
        #expect(try await ids(engine) == Set((1...10).map(id)))
        // An hour later without catch-up: the missed ticks stay missed.
        engine = try await scheduledEngine(dir, start: t0 + 60 * minute, horizon: t0 + 60 * minute, catchUp: .none)
        try await Task.sleep(for: .milliseconds(300))
        await engine.shutdown()
        #expect(try await ids(engine).count == 10)
        // With catch-up of 3: the latest three missed ticks (through now) run.
        engine = try await scheduledEngine(dir, start: t0 + 70 * minute, horizon: t0 + 70 * minute, catchUp: .latest(3))
        #expect(try await eventually { try await ids(engine).count == 13 })
        try await Task.sleep(for: .milliseconds(300))
        await engine.shutdown()
        #expect(try await ids(engine) == Set((1...10).map(id) + [68, 69, 70].map(id)))
        // Paused: ticks are skipped; a trigger runs it once anyway.
        try await engine.pauseSchedule("minutely")
        engine = try await scheduledEngine(dir, start: t0 + 80 * minute, horizon: t0 + 85 * minute, catchUp: .none)
        try await Task.sleep(for: .milliseconds(300))
        let triggered = try await engine.triggerSchedule("minutely")  // the manual clock reads t0 + 85 min
        #expect(triggered == "sched-minutely-trigger-2026-11-20T11:25:00+00:00")
        #expect(try await engine.handle(for: triggered, as: String.self).result() == "2026-11-20T11:25:00+00:00")
        #expect(try await ids(engine).count == 14)
        await engine.shutdown()
        try await engine.resumeSchedule("minutely")
        #expect(try await engine.storage.schedule(named: "minutely")?.paused == false)
        // Ticks skipped while paused count as fired, so a later catch-up does not replay them.
        #expect(try await engine.storage.schedule(named: "minutely")?.lastFiredAt == t0 + 85 * minute)
    }

    @Test("a damaged schedule state record is detected and rebuilt from the logs")
    func damagedStateRebuilt() async throws {
        let dir = TemporaryDirectory()
        let t0 = utc("2026-11-20T10:00:00Z")
        var engine = try await scheduledEngine(dir, start: t0, horizon: t0 + 5 * 60_000, catchUp: .latest(100))
        #expect(try await eventually { try await ids(engine).count == 5 })
        await engine.shutdown()
        let stateFiles = try FileManager.default.contentsOfDirectory(atPath: dir.data + "/schedules").filter {
            $0.hasSuffix(".state")
        }
        #expect(stateFiles.count == 1)
        let path = dir.data + "/schedules/" + stateFiles[0]
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 3] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(try engine.store.readScheduleRecord(name: "minutely") == .damaged)
        // Rebuilt: the last fire time comes from the logs, so catch-up neither repeats nor skips.
        engine = try await scheduledEngine(dir, start: t0 + 8 * 60_000, horizon: t0 + 8 * 60_000, catchUp: .latest(100))
        #expect(try await eventually { try await ids(engine).count == 8 })
        await engine.shutdown()
        #expect(try await engine.storage.schedule(named: "minutely")?.lastFiredAt == t0 + 8 * 60_000)
    }
}
