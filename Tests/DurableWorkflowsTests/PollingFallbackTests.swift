import DurableLog
import DurableTesting
import DurableWorkflows
import Foundation
import Testing

@Suite("Without inotify (its per-user limits reached): waits fall back to polling", .timeLimit(.minutes(3)))
struct PollingFallbackTests {
    @Test(
        "recv wakes on a message from another process, and a queue serves a client's enqueue, with the watcher polling")
    func pollingWatcher() async throws {
        let dir = TemporaryDirectory()
        let configuration = DurableEngine.Configuration(applicationVersion: "1")
        var options = LogStore.Options()
        options.watchWithInotify = false
        let engine = DurableEngine(
            store: try FileWorkflowStore(directory: dir.data, options: options), configuration: configuration)
        #expect(engine.store.watcher().usesInotify == false)
        engine.register(name: "waiter") { (_: String, context: WorkflowContext) -> String in
            try await context.recv(topic: "go", as: String.self, timeout: .seconds(60)) ?? "timeout"
        }
        engine.register(WorkflowQueue("polled"))
        try await engine.launch()
        let waiter = try await engine.start(name: "waiter", "", id: "waiter", as: String.self)
        let started = ContinuousClock.now
        let send = try ChildProcess("durable", ["send", "waiter", "go", "\"hello\"", "--dir", dir.data])
        #expect(send.wait().status == 0)
        #expect(try await waiter.result() == "hello")
        #expect(ContinuousClock.now - started < .seconds(30))
        let client = try DurableClient(directory: dir.data)
        let queued = try await client.enqueue(
            "waiter", "", on: "polled", options: EnqueueOptions(id: "queued"), as: String.self)
        try await client.send(to: "queued", topic: "go", "again")
        #expect(try await queued.result() == "again")
        await engine.shutdown()
    }
}
