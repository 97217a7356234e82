import DurableLog
import DurableTesting
import DurableWorkflows
import Foundation
import Testing

@Suite("SIGKILL in the middle of each primitive", .timeLimit(.minutes(5)))
struct PrimitiveCrashTests {
    @Test(
        "killed during sleep, recv, between setEvents, mid-stream and while a child runs: recovered with nothing lost or duplicated"
    )
    func killInsideEveryPrimitive() async throws {
        let dir = TemporaryDirectory()
        let ledger = dir.path + "/ledger"
        let fired = dir.path + "/fired"
        let points = ["sleep", "recv", "between-events", "mid-stream", "child"]
        let id = "prim"
        let environment = ["KILL_AT": points.joined(separator: ","), "FIRED": fired]
        // The sender: the first message once the workflow exists (sent twice: a retried send),
        // the second only after a process died waiting for it.
        let sender = Task {
            let client = try DurableClient(directory: dir.data)
            while !FileManager.default.fileExists(atPath: try client.store.logPath(name: id)) {
                try await Task.sleep(for: .milliseconds(5))
            }
            try await client.send(to: id, topic: "go", "one", idempotencyKey: "m1")
            try await client.send(to: id, topic: "go", "one", idempotencyKey: "m1")
            while !((try? String(contentsOfFile: fired, encoding: .utf8)) ?? "").contains("recv") {
                try await Task.sleep(for: .milliseconds(5))
            }
            try await Task.sleep(for: .milliseconds(200))  // let the killed process be gone and a new one wait
            try await client.send(to: id, topic: "go", "two", idempotencyKey: "m2")
        }
        var kills = 0
        var output = ""
        for _ in 0..<20 {
            let child = try ChildProcess(
                "DurableTestHelper", ["primitives", dir.data, ledger, id], environment: environment)
            let (status, killed) = child.wait()
            if killed {
                kills += 1
                continue
            }
            #expect(status == 0)
            output = child.allOutput().trimmingCharacters(in: .whitespacesAndNewlines)
            break
        }
        try await sender.value
        #expect(kills == points.count, "one kill per primitive")
        #expect(output == "one+two+child-prim")
        let firedPoints = try String(contentsOfFile: fired, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(Set(firedPoints) == Set(points))

        let store = try LogStore.open(directory: dir.data)
        let contents = try store.readLog(name: id)
        let history = try WorkflowHistory(contents)
        #expect(history.status == .success)
        #expect(contents.records.filter { $0.type.rawValue == 0x12 }.count == 1, "the workflow ended exactly once")
        #expect(history.eventHistory.map(\.value) == ["1", "2", "3"], "each event set exactly once, in order")
        let stream = history.stream("items")
        #expect(stream.items == ["1", "2", "3"] && stream.closed, "each stream item written exactly once")
        let received = history.steps.filter { $0.name == "DBOS.recv" }.map(\.output)
        #expect(received == ["\"one\"", "\"two\""], "each message received exactly once, in order")
        #expect(
            history.steps.filter { $0.name == "DBOS.sleep" }.count == 3, "the durable sleep and the two recv timeouts")
        // The inbox kept the retried send once.
        #expect(try await store.readInbox(name: id).filter { $0.type.rawValue == 0x20 }.count == 2)
        // The child ran its step again only because it was killed inside it; it ended once.
        let child = try store.readLog(name: "prim-\(history.steps.first { $0.kind == "child" }!.functionID)")
        #expect(try WorkflowHistory(child).output == "\"child-prim\"")
        #expect(child.records.filter { $0.type.rawValue == 0x12 }.count == 1)
        let childRuns = try String(contentsOfFile: ledger, encoding: .utf8).split(separator: "\n").filter {
            $0 == "child-run prim"
        }.count
        #expect(childRuns == 2, "killed inside its step once, run again once")
        #expect(try store.check().hasProblems == false)
        try await expectHelperLogsReplayCleanly(dir)  // sleep, recv, events, a stream and a child, after five kills
    }

    @Test(
        "`durable fork` killed at random moments leaves either no fork or a complete one, and every fork runs to the right result"
    )
    func killDuringFork() async throws {
        let dir = TemporaryDirectory()
        let ledger = dir.path + "/ledger"
        _ = try runUntilDone(dir, ledger: ledger, ids: ["original"], environment: [:])
        var generator = SystemRandomNumberGenerator()
        for k in 0..<12 {
            let fork = try ChildProcess(
                "durable", ["fork", "original", "--from-step", "3", "--new-id", "fork-\(k)", "--dir", dir.data])
            if k == 11 {
                #expect(fork.wait().status == 0)  // the last one is left to finish
            } else {
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...40, using: &generator)))
                fork.kill()
            }
        }
        let store = try LogStore.open(directory: dir.data)
        let forks = (0..<12).map { "fork-\($0)" }.filter {
            FileManager.default.fileExists(atPath: try! store.logPath(name: $0))
        }
        #expect(forks.contains("fork-11"))
        for id in forks {
            let history = try WorkflowHistory(store.readLog(name: id))
            #expect(history.steps.map(\.functionID) == [1, 2], "\(id) holds exactly the copied steps")
        }
        // An executor finishes the forks that exist (they wait on the internal queue): steps 3-5
        // run again, 1-2 never do.
        _ = try runUntilDone(dir, ledger: ledger, ids: forks, environment: [:])
        for id in forks {
            let history = try WorkflowHistory(store.readLog(name: id))
            #expect(history.status == .success && history.output == "55", "\(id)")
        }
        let runs = try String(contentsOfFile: ledger, encoding: .utf8).split(separator: "\n")
        #expect(runs.filter { $0 == "run original 1" }.count == 1 && runs.filter { $0 == "run original 2" }.count == 1)
        #expect(runs.filter { $0 == "run original 3" }.count == 1 + forks.count)
        #expect(try store.check().hasProblems == false)
    }
}
