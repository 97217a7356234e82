import DurableTesting
import Foundation
import Synchronization
import Testing

@testable import DurableLog
@testable import DurableWorkflows

@Suite("A failed fsync stops the engine", .timeLimit(.minutes(1)))
struct FsyncFailureTests {
    @Test("after an fsync fails the engine stops: health says why, waiting and new work fail with that error")
    func fsyncFailureStopsTheEngine() async throws {
        let dir = TemporaryDirectory()
        let failing = Atomic<Bool>(false)
        var configuration = DurableEngine.Configuration(applicationVersion: "1")
        configuration.recoveryInterval = .milliseconds(50)
        configuration.storage.syncFunction = { fd, _ in failing.load(ordering: .relaxed) ? EIO : fdatasync(fd) }
        let engine = try DurableEngine(directory: dir.data, configuration: configuration)
        engine.register(name: "waits") { (_: Int, context: WorkflowContext) -> String in
            _ = try await context.step("first") { 1 }
            return try await context.recv(topic: "go", as: String.self, timeout: .seconds(60)) ?? "timed out"
        }
        try await engine.launch()
        #expect(engine.health == .serving)
        let waiting = try await engine.start(name: "waits", 0, id: "waiting-1", as: String.self)
        #expect(try await eventually { try engine.steps(of: "waiting-1").count == 2 })

        failing.store(true, ordering: .relaxed)
        await #expect(throws: StorageError.self) { try await engine.send(to: "waiting-1", topic: "go", "now") }
        guard case .stopped(let error) = engine.health else {
            Issue.record("health is \(engine.health)")
            return
        }
        #expect(error.code == .durabilityLost && error.message.contains("fdatasync failed"))
        let ended = await #expect(throws: StorageError.self) { try await waiting.result() }
        #expect(ended?.code == .durabilityLost)
        let refused = await #expect(throws: StorageError.self) { try await engine.start(name: "waits", 1, id: "after", as: String.self) }
        #expect(refused?.code == .durabilityLost)
        await engine.shutdown()
        // Restarted on a healthy disk, the workflow continues from its log.
        var healthy = DurableEngine.Configuration(applicationVersion: "1")
        healthy.recoveryInterval = .milliseconds(50)
        let restarted = try DurableEngine(directory: dir.data, configuration: healthy)
        restarted.register(name: "waits") { (_: Int, context: WorkflowContext) -> String in
            _ = try await context.step("first") { 1 }
            return try await context.recv(topic: "go", as: String.self, timeout: .seconds(60)) ?? "timed out"
        }
        #expect(try await restarted.launch() == ["waiting-1"])
        try await restarted.send(to: "waiting-1", topic: "go", "again")
        #expect(try await restarted.handle(for: "waiting-1", as: String.self).result() == "again")
        await restarted.shutdown()
    }
}
