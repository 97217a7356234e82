import DurableStorage
import DurableTesting
import DurableWorkflows
import Foundation
import Synchronization
import Testing

@Suite("Time travel: a workflow as of an operation, and where two runs differ", .timeLimit(.minutes(3)))
struct TimeTravelTests {
    /// A workflow using every primitive: 1 step, 2 setEvent, 3 writeStream, 4-5 recv (and its
    /// deadline), 6 sleep, 7 writeStream, 8 closeStream, 9 setEvent, 10-11 a child and its result,
    /// 12 step. Its steps return `salt`, so a fork run with another salt differs from step 12 on.
    private func record(_ dir: TemporaryDirectory) async throws -> DurableEngine {
        let engine = try makeEngine(dir)
        let salt = Locked("first")
        engine.register(name: "leaf") { (n: Int, context: WorkflowContext) -> Int in
            try await context.step("double") { n * 2 }
        }
        engine.register(name: "everything") { (_: Int, context: WorkflowContext) -> String in
            let a = try await context.step("a") { "A" }
            try await context.setEvent("phase", "started")
            try await context.writeStream("items", 1)
            let message = try await context.recv(topic: "go", as: String.self, timeout: .seconds(30)) ?? "none"
            try await context.sleep(for: .milliseconds(10))
            try await context.writeStream("items", 2)
            try await context.closeStream("items")
            try await context.setEvent("phase", "done")
            let doubled = try await context.runChild(name: "leaf", 21, as: Int.self)
            let b = try await context.step("b") { salt.withLock { $0 } }
            return "\(a) \(message) \(doubled) \(b)"
        }
        try await engine.launch()
        let handle = try await engine.start(name: "everything", 0, id: "all", as: String.self)
        while try await engine.steps(of: "all").count < 3 { try await Task.sleep(for: .milliseconds(5)) }
        try await engine.send(to: "all", topic: "go", "hello")
        #expect(try await handle.result() == "A hello 42 first")
        salt.withLock { $0 = "second" }
        #expect(
            try await engine.fork("all", fromStep: 12, newID: "fork", as: String.self).result() == "A hello 42 second")
        return engine
    }

    private func inspect(_ dir: TemporaryDirectory, at position: Int) async throws -> [String: Any] {
        let (status, _, output) = try await ChildProcess(
            "durable", ["inspect", "all", "--at", "\(position)", "--json", "--dir", dir.data]
        ).finish()
        #expect(status == 0, "\(output)")
        return try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] ?? [:]
    }

    @Test("inspect --at N shows what had been done, received, set and written by operation N, and what came next")
    func inspectAtSeveralPositions() async throws {
        let dir = TemporaryDirectory()
        let engine = try await record(dir)
        await engine.shutdown()

        let start = try await inspect(dir, at: 0)
        #expect((start["steps"] as? [Any])?.isEmpty == true && start["status"] as? String == "PENDING")
        #expect((start["next"] as? [String: Any])?["name"] as? String == "a")

        let three = try await inspect(dir, at: 3)
        #expect((three["steps"] as? [Any])?.count == 3)
        #expect((three["events"] as? [String: Any])?["phase"] as? String == "started")
        #expect(((three["streams"] as? [String: Any])?["items"] as? [String: Any])?["items"] as? [Int] == [1])
        #expect(((three["streams"] as? [String: Any])?["items"] as? [String: Any])?["closed"] as? Bool == false)
        #expect((three["messagesReceived"] as? [Any])?.isEmpty == true)
        #expect((three["next"] as? [String: Any])?["name"] as? String == "DBOS.recv", "waiting for a message next")

        let eight = try await inspect(dir, at: 8)
        let received = try #require(eight["messagesReceived"] as? [[String: Any]])
        #expect(received.count == 1 && received.first?["value"] as? String == "hello")
        #expect(((eight["streams"] as? [String: Any])?["items"] as? [String: Any])?["items"] as? [Int] == [1, 2])
        #expect(((eight["streams"] as? [String: Any])?["items"] as? [String: Any])?["closed"] as? Bool == true)
        #expect((eight["events"] as? [String: Any])?["phase"] as? String == "started")
        #expect(eight["output"] is NSNull && eight["status"] as? String == "PENDING")

        let end = try await inspect(dir, at: 12)
        #expect((end["events"] as? [String: Any])?["phase"] as? String == "done")
        #expect(end["status"] as? String == "SUCCESS" && end["output"] as? String == #""A hello 42 first""#)
        #expect(end["next"] is NSNull)

        let text = try await ChildProcess("durable", ["inspect", "all", "--at", "5", "--dir", dir.data]).finish()
        let lines = text.output
        #expect(text.status == 0)
        #expect(
            lines.contains("as of operation 5 of 12: PENDING") && lines.contains("next      6: sleep \"DBOS.sleep\""))
        #expect(lines.contains("received  4: \"hello\""), "\(lines)")
    }

    @Test("diff shows where a fork parts from its origin and exits 1; a run compared with itself does not differ")
    func diffForkAndOrigin() async throws {
        let dir = TemporaryDirectory()
        let engine = try await record(dir)
        let origin = WorkflowHistory(workflowID: "all", events: try await engine.storage.history(of: "all"))
        let fork = WorkflowHistory(workflowID: "fork", events: try await engine.storage.history(of: "fork"))
        let difference = try #require(origin.firstDifference(from: fork))
        #expect(difference.position == 12 && difference.first?.output == #""first""#)
        #expect(difference.second?.output == #""second""#)
        #expect(origin.firstDifference(from: origin) == nil)
        await engine.shutdown()

        let diff = try await ChildProcess("durable", ["diff", "all", "fork", "--dir", dir.data]).finish()
        let output = diff.output
        #expect(diff.status == 1)
        #expect(output.contains("they first differ at operation 12"), "\(output)")
        #expect(output.contains("≠  12"), "\(output)")
        let same = try await ChildProcess("durable", ["diff", "all", "all", "--dir", dir.data]).finish()
        #expect(same.output.contains("the runs do not differ") && same.status == 0)
    }
}
