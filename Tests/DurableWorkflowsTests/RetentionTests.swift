import DurableLog
import DurableTesting
import DurableWorkflows
import Foundation
import Testing

@Suite("Retention", .timeLimit(.minutes(3)))
struct RetentionTests {
    @Test("gc deletes ended workflows by age and by count, with their inboxes and index entries, never pending work")
    func garbageCollectionDeletesOnlyEndedWorkflows() async throws {
        let dir = TemporaryDirectory()
        let clock = ManualClock(start: 1_800_000_000_000)
        let engine = try makeEngine(dir, clock: clock)
        engine.register(name: "job") { (n: Int, context: WorkflowContext) -> Int in try await context.step("s") { n } }
        engine.register(name: "waiter") { (_: Int, context: WorkflowContext) -> String in
            try await context.recv(topic: "never", as: String.self, timeout: .seconds(3600)) ?? "-"
        }
        try await engine.launch()
        for i in 0..<6 {
            #expect(try await engine.start(name: "job", i, id: "job-\(i)", as: Int.self).result() == i)
            clock.advance(by: .seconds(3600))
        }
        _ = try await engine.start(name: "waiter", 0, id: "waiting", as: String.self)
        try await engine.send(to: "job-0", topic: "late", "a message for an ended workflow")
        let inbox = try engine.store.inboxPath(name: "job-0")
        #expect(FileManager.default.fileExists(atPath: inbox))

        // Older than 4.5 hours: job-0 and job-1 (ended at +0 h and +1 h; now is +6 h).
        #expect(
            try await engine.garbageCollect(RetentionPolicy(maxAge: .seconds(4 * 3600 + 1800))) == ["job-0", "job-1"])
        #expect(!FileManager.default.fileExists(atPath: try engine.store.logPath(name: "job-0")))
        #expect(!FileManager.default.fileExists(atPath: inbox))
        #expect(try await engine.status(of: "job-0") == nil)
        // Keep the 2 newest ended ones: job-4 and job-5 stay; the pending waiter is not counted or touched.
        #expect(try await engine.garbageCollect(RetentionPolicy(maxCount: 2)) == ["job-2", "job-3"])
        #expect(Set(try await engine.listWorkflows().map(\.workflowID)) == ["job-4", "job-5", "waiting"])
        #expect(try engine.store.check().hasProblems == false)
        // Another process sees the same, and a reconciliation adopts nothing back.
        let client = try DurableClient(directory: dir.data)
        #expect(Set(try await client.listWorkflows().map(\.workflowID)) == ["job-4", "job-5", "waiting"])
        #expect(try await engine.store.reconcileIndex() == 0)
        await engine.shutdown()
    }

    @Test("durable gc --dry-run lists without deleting; durable gc deletes", .timeLimit(.minutes(3)))
    func gcCommand() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        engine.register(name: "job") { (n: Int, context: WorkflowContext) -> Int in try await context.step("s") { n } }
        try await engine.launch()
        for i in 0..<3 { _ = try await engine.start(name: "job", i, id: "job-\(i)", as: Int.self).result() }
        await engine.shutdown()
        let dry = try ChildProcess("durable", ["gc", "--dir", dir.data, "--keep", "1", "--dry-run"])
        #expect(dry.allOutput() == "job-0\njob-1\n")
        #expect(dry.wait().status == 0)
        #expect(try await DurableClient(directory: dir.data).listWorkflows().count == 3)
        let real = try ChildProcess("durable", ["gc", "--dir", dir.data, "--keep", "1"])
        #expect(real.allOutput() == "job-0\njob-1\n")
        #expect(real.wait().status == 0)
        #expect(try await DurableClient(directory: dir.data).listWorkflows().map(\.workflowID) == ["job-2"])
    }
}
