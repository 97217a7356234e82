import DurableTesting
import DurableWorkflows
import Foundation
import Testing

@Suite("DurableClient against an executor in another process", .timeLimit(.minutes(3)))
struct ClientTests {
    func executor(_ dir: TemporaryDirectory, queues: [String] = []) throws -> ChildProcess {
        let process = try ChildProcess("DurableTestHelper", ["executor", dir.data] + queues)
        #expect(process.firstLine() == "ready")
        return process
    }

    @Test("start and enqueue by name, send, getEvent, readStream and result, with workflows run by another process")
    func talkToAnotherProcess() async throws {
        let dir = TemporaryDirectory()
        let worker = try executor(dir, queues: ["client-q"])
        defer { worker.kill() }
        let client = try DurableClient(directory: dir.data)
        // start: put on the internal queue; the executor runs it.
        let greeting = try await client.start("greet", "ada", id: "greet-1", as: String.self)
        #expect(try await greeting.result() == "hello ada")
        #expect(try await client.status(of: "greet-1") == .success)
        let unknown = await #expect(throws: WorkflowError.self) {
            try await client.handle(for: "no-such-workflow", as: String.self).result()
        }
        #expect(unknown?.code == .notFound, "an unknown ID is named at once, not waited for")
        let queued = try await client.enqueue("greet", "bob", on: "client-q", as: String.self)
        #expect(try await queued.result() == "hello bob")
        // A conversation: the client's message wakes the workflow's recv in the executor.
        let conversation = try await client.start("conversation", "", id: "talk", as: String.self)
        let sent = ContinuousClock.now
        try await client.send(to: "talk", topic: "go", "hi there", idempotencyKey: "m1")
        // a retried send: delivered once
        try await client.send(to: "talk", topic: "go", "hi there", idempotencyKey: "m1")
        #expect(try await client.getEvent("talk", key: "got", as: String.self, timeout: .seconds(30)) == "hi there")
        let latency = ContinuousClock.now - sent
        var items: [Int] = []
        for try await item in client.readStream("talk", key: "numbers", as: Int.self) { items.append(item) }
        #expect(items == [1, 2, 3])
        #expect(try await conversation.result() == "hi there")
        #expect(try await client.steps(of: "talk").map(\.name).first == "DBOS.recv")
        #expect(latency < .seconds(10), "send → getEvent across processes took \(latency)")
        // Listing sees what the executor ran.
        var filter = WorkflowFilter()
        filter.statuses = [.success]
        #expect(
            Set(try await client.listWorkflows(filter).map(\.workflowID)).isSuperset(of: [
                "greet-1", "talk", queued.workflowID,
            ]))
    }

    @Test("cancel a running workflow with its children, resume it, and fork a finished one, from a client")
    func controlFromAClient() async throws {
        let dir = TemporaryDirectory()
        let worker = try executor(dir)
        defer { worker.kill() }
        let client = try DurableClient(directory: dir.data)
        let family = try await client.start("family", "", id: "family", as: String.self)
        #expect(
            try await eventually {
                try await client.listWorkflows(WorkflowFilter()).filter { $0.workflowID.hasPrefix("family-") }.count
                    == 2
            })
        try await client.cancel("family", includingChildren: true)
        for id in ["family", "family-1", "family-2"] {
            #expect(try await eventually { try await client.status(of: id) == .cancelled }, "\(id) should be cancelled")
        }
        await #expect(throws: PortableError.self) { _ = try await family.result() }
        // Resume the parent: it runs again (its children stay cancelled, so it fails on their results).
        try await client.resume("family-1")
        try await client.send(to: "family-1", "done")
        #expect(try await client.handle(for: "family-1", as: String.self).result() == "done")
        // Fork a finished workflow from its first step: a new workflow with the same input.
        let greeting = try await client.start("greet", "eve", id: "greet-2", as: String.self)
        #expect(try await greeting.result() == "hello eve")
        let conversation = try await client.start("conversation", "", id: "talk-2", as: String.self)
        try await client.send(to: "talk-2", topic: "go", "first")
        #expect(try await conversation.result() == "first")
        let fork = try await client.fork("talk-2", fromStep: 2, newID: "talk-2-fork", as: String.self)
        #expect(try await fork.result() == "first", "the recorded recv (step 1) is reused")
        let names = { (id: String) in try await client.steps(of: id).filter { $0.kind != "sleep" }.map(\.name) }
        let forked = try await names("talk-2-fork"), original = try await names("talk-2")
        #expect(forked == original)
        #expect(try await client.steps(of: "talk-2-fork").first?.output == "\"first\"")
    }
}
