import DurableLog
import DurableTesting
import DurableWorkflows
import Foundation
import Testing

@Suite("Damaged workflows end waits", .timeLimit(.minutes(3)))
struct QuarantineTests {
    /// A PENDING workflow (waiting in recv when its engine shut down) whose log is then damaged
    /// in the middle, as a disk error would.
    func damagedPendingWorkflow(_ dir: TemporaryDirectory) async throws -> String {
        let engine = try makeEngine(dir)
        engine.register(name: "waiter") { (_: Int, context: WorkflowContext) -> String in
            try await context.setEvent("started", true)
            _ = try await context.step("one") { () -> Int in 1 }
            return try await context.recv(topic: "go", as: String.self, timeout: .seconds(3600)) ?? "-"
        }
        try await engine.launch()
        _ = try await engine.start(name: "waiter", 0, id: "damaged", as: String.self)
        #expect(try await eventually { try await engine.steps(of: "damaged").count == 3 })
        await engine.shutdown()
        let path = try engine.store.logPath(name: "damaged")
        var bytes = try #require(FileManager.default.contents(atPath: path))
        bytes[bytes.count / 2] ^= 0x20
        try bytes.write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("result() and getEvent on a damaged workflow throw, naming it, instead of waiting forever")
    func waitsOnADamagedLogThrow() async throws {
        let dir = TemporaryDirectory()
        _ = try await damagedPendingWorkflow(dir)
        let client = try DurableClient(directory: dir.data)
        await #expect(throws: QuarantinedWorkflowError.self) {
            try await client.handle(for: "damaged", as: String.self).result()
        }
        await #expect(throws: QuarantinedWorkflowError.self) {
            try await client.getEvent("damaged", key: "never-set", as: Int.self, timeout: .seconds(60))
        }
        // An engine that finds it at recovery quarantines it; its waits throw too.
        let engine = try makeEngine(dir)
        try await engine.launch()
        let error = await #expect(throws: QuarantinedWorkflowError.self) {
            try await engine.handle(for: "damaged", as: String.self).result()
        }
        #expect(error?.workflowID == "damaged")
        #expect(error.map { "\($0)" }?.contains("damaged") == true)
        await engine.shutdown()
    }

    @Test("a damaged inbox quarantines its workflow once, instead of recovering it into the same failure every second")
    func aDamagedInboxQuarantines() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let body: @Sendable (Int, WorkflowContext) async throws -> String = { _, context in
            _ = try await context.step("count") { () -> Int in
                counter.hit("runs")
                return 1
            }
            return try await context.recv(topic: "wanted", as: String.self, timeout: .seconds(3600)) ?? "-"
        }
        let first = try makeEngine(dir)
        first.register(name: "inboxed", body)
        try await first.launch()
        _ = try await first.start(name: "inboxed", 0, id: "inboxed-1", as: String.self)
        for i in 0..<3 {
            try await first.send(to: "inboxed-1", topic: "other", "message \(i) " + String(repeating: "x", count: 200))
        }
        #expect(try await eventually { try await first.steps(of: "inboxed-1").count == 2 })
        await first.shutdown()
        let path = try first.store.inboxPath(name: "inboxed-1")
        var bytes = try #require(FileManager.default.contents(atPath: path))
        bytes[100] ^= 0x10  // inside the first message, with valid messages after it
        try bytes.write(to: URL(fileURLWithPath: path))

        let second = try makeEngine(dir)
        second.register(name: "inboxed", body)
        _ = try await second.launch()
        let error = await #expect(throws: QuarantinedWorkflowError.self) {
            try await second.handle(for: "inboxed-1", as: String.self).result()
        }
        #expect(error?.reason.contains("inbox") == true)
        try await Task.sleep(for: .milliseconds(500))  // ten recovery sweeps
        #expect(
            try await second.listWorkflows().first { $0.workflowID == "inboxed-1" }?.corruption?.contains("inbox")
                == true)
        let attempts = try second.store.readLog(name: "inboxed-1").records.filter { $0.type.rawValue == 0x13 }.count
        #expect(attempts == 1, "recovered once, then left alone")
        await second.shutdown()
    }
}
