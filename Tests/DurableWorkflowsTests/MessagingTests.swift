import DurableLog
import DurableTesting
import DurableWorkflows
import Foundation
import Testing

struct Approval: Codable, Sendable, Equatable {
    var approved: Bool
    var by: String
}

@Suite("send and recv", .timeLimit(.minutes(3)))
struct MessagingTests {
    @Test("messages sent before recv are kept and received in order, per topic")
    func messagesArriveInOrder() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        engine.register(name: "inbox") { (_: Int, context: WorkflowContext) -> [String] in
            try await context.sleep(for: .milliseconds(200))
            var received: [String] = []
            for _ in 0..<3 {
                received.append(
                    try await context.recv(topic: "numbers", as: String.self, timeout: .seconds(5)) ?? "timeout")
            }
            received.append(try await context.recv(as: String.self, timeout: .seconds(5)) ?? "timeout")
            return received
        }
        try await engine.launch()
        let handle = try await engine.start(name: "inbox", 0, id: "inbox", as: [String].self)
        try await engine.send(to: "inbox", "default topic")
        for n in ["one", "two", "three"] { try await engine.send(to: "inbox", topic: "numbers", n) }
        #expect(try await handle.result() == ["one", "two", "three", "default topic"])
        let steps = try await engine.steps(of: "inbox")
        #expect(
            steps.map(\.name) == ["DBOS.sleep"]
                + Array(repeating: ["DBOS.recv", "DBOS.sleep"], count: 4).flatMap { $0 })
        #expect(
            steps.filter { $0.kind == "recv" }.map(\.functionID) == [2, 4, 6, 8],
            "recv takes n and its timeout n+1, as in DBOS")
        try await engine.expectReplaysCleanly()  // the communication logs replay cleanly
        await engine.shutdown()
    }

    @Test("recv times out with nil, and a replayed recv neither waits nor receives again")
    func recvTimeoutAndReplay() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let body: @Sendable (Int, WorkflowContext) async throws -> String = { _, context in
            let first = try await context.recv(topic: "never-sent", as: String.self, timeout: .milliseconds(150))
            let second = try await context.recv(topic: "t", as: String.self, timeout: .seconds(30))
            _ = try await context.step("block") { () -> Int in
                counter.hit("block")
                if counter["block"] == 1 { try await Task.sleep(for: .seconds(3600)) }
                return 0
            }
            return "\(first ?? "nil") \(second ?? "nil")"
        }
        let first = try makeEngine(dir)
        first.register(name: "waiter", body)
        try await first.launch()
        _ = try await first.start(name: "waiter", 0, id: "waiter", as: String.self)
        try await Task.sleep(for: .milliseconds(400))
        try await first.send(to: "waiter", topic: "t", "hello")
        while counter["block"] == 0 { try await Task.sleep(for: .milliseconds(5)) }
        await first.shutdown()

        try await first.send(to: "waiter", topic: "t", "late")  // must not be received by the replay
        let second = try makeEngine(dir)
        second.register(name: "waiter", body)
        let start = ContinuousClock.now
        #expect(try await second.launch() == ["waiter"])
        #expect(try await second.handle(for: "waiter", as: String.self).result() == "nil hello")
        #expect(ContinuousClock.now - start < .seconds(10))
        await second.shutdown()
    }

    @Test("a send with a repeated idempotency key is delivered at most once")
    func idempotentSend() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        engine.register(name: "count") { (_: Int, context: WorkflowContext) -> Int in
            // Count only once every send is in: messages wait in the inbox, so no timing matters.
            _ = try await context.recv(topic: "go", as: Bool.self, timeout: .seconds(60))
            var n = 0
            while try await context.recv(as: Int.self, timeout: .milliseconds(300)) != nil { n += 1 }
            return n
        }
        try await engine.launch()
        let handle = try await engine.start(name: "count", 0, id: "count", as: Int.self)
        for _ in 0..<3 { try await engine.send(to: "count", 1, idempotencyKey: "same-key") }
        try await engine.send(to: "count", 2, idempotencyKey: "other-key")
        try await engine.send(to: "count", topic: "go", true)
        #expect(try await handle.result() == 2)
        await #expect(throws: WorkflowError.self) { try await engine.send(to: "no-such-workflow", 1) }
        try await engine.expectReplaysCleanly()  // the communication logs replay cleanly
        await engine.shutdown()
    }

    @Test("invalid names are refused by what they are: queue, partition key, topic, idempotency, event and stream keys")
    func invalidNamesAreNamed() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        // Each workflow returns the message of the error its call threw, or "accepted".
        func refusal(
            _ call: @escaping @Sendable (String, WorkflowContext) async throws -> Void
        ) -> @Sendable (String, WorkflowContext) async throws -> String {
            { key, context in
                do {
                    try await call(key, context)
                } catch let error as WorkflowError {
                    return error.message
                }
                return "accepted"
            }
        }
        engine.register(name: "keyed", refusal { key, context in try await context.setEvent(key, 1) })
        engine.register(name: "streamed", refusal { key, context in try await context.writeStream(key, 1) })
        try await engine.launch()
        #expect(
            try await engine.start(name: "keyed", "a\u{0}b", id: "k", as: String.self).result()
                == "the event key must not contain a NUL character")
        #expect(
            try await engine.start(name: "streamed", "s\u{0}", id: "s", as: String.self).result()
                == "the stream key must not contain a NUL character")
        func message(_ body: () async throws -> Void) async -> String {
            do {
                try await body()
                return "accepted"
            } catch let error as WorkflowError {
                return error.message
            } catch {
                return "\(error)"
            }
        }
        #expect(
            await message { try await engine.send(to: "k", topic: "t\u{0}", 1) }
                == "the topic must not contain a NUL character")
        #expect(
            await message { try await engine.send(to: "k", 1, idempotencyKey: "i\u{0}") }
                == "the idempotency key must not contain a NUL character")
        let client = try DurableClient(directory: dir.data)
        #expect(
            await message { _ = try await client.enqueue("keyed", "x", on: "", as: String.self) }
                == "a queue name must not be empty")
        #expect(
            await message {
                _ = try await client.enqueue(
                    "keyed", "x", on: "q", options: EnqueueOptions(partitionKey: "p\u{0}"), as: String.self)
            } == "a partition key must not contain a NUL character")
        await engine.shutdown()
    }

    @Test("a workflow sends to another as a recorded DBOS.send operation")
    func workflowToWorkflow() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        engine.register(name: "approver") { (target: String, context: WorkflowContext) -> Int in
            try await context.send(to: target, topic: "approval", Approval(approved: true, by: "ops"))
            return 1
        }
        engine.register(name: "requester") { (_: Int, context: WorkflowContext) -> Approval? in
            try await context.recv(topic: "approval", as: Approval.self, timeout: .seconds(10))
        }
        try await engine.launch()
        let requester = try await engine.start(name: "requester", 0, id: "req", as: Approval?.self)
        _ = try await engine.start(name: "approver", "req", id: "app", as: Int.self).result()
        #expect(try await requester.result() == Approval(approved: true, by: "ops"))
        #expect(try await engine.steps(of: "app").map(\.name) == ["DBOS.send"])
        #expect(try await engine.store.readInbox(name: "req").count == 1)
        try await engine.expectReplaysCleanly()  // the communication logs replay cleanly
        await engine.shutdown()
    }

    @Test("`durable send` from another process wakes a waiting recv")
    func sendFromAnotherProcess() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        engine.register(name: "gate") { (_: Int, context: WorkflowContext) -> Approval? in
            try await context.recv(topic: "approval", as: Approval.self, timeout: .seconds(30))
        }
        try await engine.launch()
        let handle = try await engine.start(name: "gate", 0, id: "gate", as: Approval?.self)
        try await Task.sleep(for: .milliseconds(100))
        let start = ContinuousClock.now
        let cli = try ChildProcess(
            "durable", ["send", "gate", "approval", "{\"approved\":true,\"by\":\"cli\"}", "--dir", dir.data])
        #expect(cli.wait().status == 0)
        #expect(try await handle.result() == Approval(approved: true, by: "cli"))
        #expect(ContinuousClock.now - start < .seconds(10), "woken by the message, not by the 30 s timeout")
        let bad = try ChildProcess("durable", ["send", "gate", "x", "{not json", "--dir", dir.data])
        #expect(bad.wait().status != 0)
        await engine.shutdown()
    }
}
