import DurableLog
import DurableTesting
import DurableWorkflows
import Foundation
import Testing

/// Checks a side-effect ledger: no step ran again after its checkpoint was acknowledged, and
/// every workflow ran every step at least once.
func verifyLedger(_ path: String, ids: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    let lines = (try? String(contentsOfFile: path, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
    var acknowledged = Set<String>()
    var ran = Set<String>()
    for line in lines {
        let parts = line.split(separator: " ")
        guard parts.count == 3 else { continue }
        let step = "\(parts[1]) \(parts[2])"
        if parts[0] == "ack" { acknowledged.insert(step) }
        if parts[0] == "run" {
            #expect(
                !acknowledged.contains(step), "step \(step) ran again after its checkpoint was acknowledged",
                sourceLocation: sourceLocation)
            ran.insert(step)
        }
    }
    let missing = ids.flatMap { id in (1...5).map { "\(id) \($0)" } }.filter { !ran.contains($0) }
    #expect(missing.isEmpty, "steps that never ran: \(missing.prefix(10))", sourceLocation: sourceLocation)
}

/// Runs helper processes until one finishes every workflow; returns how many were killed.
func runUntilDone(
    _ dir: TemporaryDirectory, ledger: String, ids: [String], environment: [String: String], maxRounds: Int = 100
) throws -> Int {
    var kills = 0
    for _ in 0..<maxRounds {
        let child = try ChildProcess(
            "DurableTestHelper", ["workflows", dir.data, ledger] + ids, environment: environment)
        let (status, killed) = child.wait()
        if killed { kills += 1; continue }
        #expect(status == 0)
        return kills
    }
    Issue.record("the workflows did not finish within \(maxRounds) processes")
    return kills
}

/// Waits until a line of the file at `path` contains `text`, or `timeout` passes.
func waitForLine(containing text: String, in path: String, timeout: Duration) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let contents = try? String(contentsOfFile: path, encoding: .utf8), contents.contains(text) { return }
        try await Task.sleep(for: .milliseconds(2))
    }
}

/// Each workflow finished exactly once with the right result and five recorded steps.
func verifyCompleted(_ dir: TemporaryDirectory, ids: [String], sourceLocation: SourceLocation = #_sourceLocation) throws
{
    let store = try LogStore.open(directory: dir.data)
    for id in ids {
        let contents = try store.readLog(name: id)
        let history = try WorkflowHistory(contents)
        #expect(history.status == .success, "\(id)", sourceLocation: sourceLocation)
        #expect(history.output == "55", "\(id)", sourceLocation: sourceLocation)
        #expect(history.steps.map(\.functionID) == [1, 2, 3, 4, 5], "\(id)", sourceLocation: sourceLocation)
        #expect(
            contents.records.filter { $0.type.rawValue == 0x12 }.count == 1, "\(id) must end exactly once",
            sourceLocation: sourceLocation)
    }
    #expect(try store.check().hasProblems == false, sourceLocation: sourceLocation)
}

@Suite("Workflow crashes: real processes killed with SIGKILL", .timeLimit(.minutes(5)))
struct WorkflowCrashTests {
    @Test("a kill at every checkpoint boundary: another process finishes every workflow exactly once")
    func killAtEveryCheckpointBoundary() throws {
        let dir = TemporaryDirectory()
        let ledger = dir.path + "/ledger"
        let points = (1...5).flatMap { k in ["before", "effect", "ack"].map { "boundary:\(k):\($0)" } }
        let kills = try runUntilDone(
            dir, ledger: ledger, ids: ["boundary"],
            environment: ["KILL_AT": points.joined(separator: ","), "FIRED": dir.path + "/fired"])
        #expect(kills == points.count, "every boundary should have killed one process")
        verifyLedger(ledger, ids: ["boundary"])
        try verifyCompleted(dir, ids: ["boundary"])
        // Steps killed between side effect and checkpoint ran twice (at least once); all others once.
        let runs = try String(contentsOfFile: ledger, encoding: .utf8).split(separator: "\n").filter {
            $0.hasPrefix("run ")
        }
        #expect(runs.count == 10)
    }

    @Test("SIGKILL at random moments across many workflows: each finishes exactly once, acknowledged steps never rerun")
    func killAtRandomMoments() async throws {
        let dir = TemporaryDirectory()
        let ledger = dir.path + "/ledger"
        var generator = SystemRandomNumberGenerator()
        let rounds = 200
        for round in 0..<rounds {
            let fresh = (0..<3).map { "r\(round)-\($0)" }
            let child = try ChildProcess(
                "DurableTestHelper", ["workflows", dir.data, ledger] + fresh, environment: ["STEP_SLEEP_MS": "4"])
            if round.isMultiple(of: 2) {
                // Half the kills land at a random moment of the process's life, launch included.
                try await Task.sleep(for: .milliseconds(Int.random(in: 5...80, using: &generator)))
            } else {
                // The other half land mid-run whatever the load: once a step has run, within a few steps.
                try await waitForLine(containing: "run r\(round)-", in: ledger, timeout: .seconds(10))
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...12, using: &generator)))
            }
            child.kill()
        }
        _ = try runUntilDone(dir, ledger: ledger, ids: [], environment: [:])
        // A workflow whose start was never acknowledged (killed before its log was durable) does
        // not exist; every workflow that does exist must have finished exactly once.
        let ids = try LogStore.open(directory: dir.data).index.allEntries().map(\.workflowID)
        #expect(ids.count >= rounds / 4, "rounds should start workflows before the kill (\(ids.count) started)")
        verifyLedger(ledger, ids: ids)
        try verifyCompleted(dir, ids: ids)
        let store = try LogStore.open(directory: dir.data)
        let recovered = try ids.filter { (try store.readLog(name: $0).indexFields.recoveryAttempts ?? 1) > 1 }
        print("random kills: \(ids.count) workflows started, \(recovered.count) finished by a later process")
        // A hundred rounds are killed after a step ran, so far more than a handful finish in a later process.
        #expect(recovered.count >= 5, "workflows should have been finished by a later process (\(recovered.count))")
        try await expectHelperLogsReplayCleanly(dir)
    }

    @Test("two processes starting the same workflow ID run its body once")
    func idempotentStartAcrossProcesses() throws {
        let dir = TemporaryDirectory()
        let ledger = dir.path + "/ledger"
        for round in 0..<5 {
            let id = "shared-\(round)"
            let a = try ChildProcess("DurableTestHelper", ["workflows", dir.data, ledger, id])
            let b = try ChildProcess("DurableTestHelper", ["workflows", dir.data, ledger, id])
            #expect(a.wait().status == 0 && b.wait().status == 0)
            #expect(a.allOutput().contains("\(id) 55") && b.allOutput().contains("\(id) 55"))
        }
        let runs = try String(contentsOfFile: ledger, encoding: .utf8).split(separator: "\n").filter {
            $0.hasPrefix("run ")
        }
        #expect(runs.count == 25, "each of 5 workflows runs its 5 steps once")
        try verifyCompleted(dir, ids: (0..<5).map { "shared-\($0)" })
    }
}
