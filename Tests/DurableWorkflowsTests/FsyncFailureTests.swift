import DurableLog
import DurableTesting
import Foundation
import Synchronization
import Testing

@testable import DurableLog
@testable import DurableWorkflows

@Suite("A failed fsync stops the engine", .timeLimit(.minutes(3)))
struct FsyncFailureTests {
    @Test("after an fsync fails the engine stops: health says why, waiting and new work fail with that error")
    func fsyncFailureStopsTheEngine() async throws {
        let dir = TemporaryDirectory()
        let failing = Atomic<Bool>(false)
        var configuration = DurableEngine.Configuration(applicationVersion: "1")
        configuration.recoveryInterval = .milliseconds(50)
        var options = LogStore.Options()
        options.syncFunction = { fd, _ in failing.load(ordering: .relaxed) ? EIO : fdatasync(fd) }
        let engine = DurableEngine(
            store: try FileWorkflowStore(directory: dir.data, options: options), configuration: configuration)
        engine.register(name: "waits") { (_: Int, context: WorkflowContext) -> String in
            _ = try await context.step("first") { 1 }
            return try await context.recv(topic: "go", as: String.self, timeout: .seconds(60)) ?? "timed out"
        }
        try await engine.launch()
        #expect(engine.health == .serving)
        let waiting = try await engine.start(name: "waits", 0, id: "waiting-1", as: String.self)
        #expect(try await eventually { try await engine.steps(of: "waiting-1").count == 2 })

        failing.store(true, ordering: .relaxed)
        let sent = await #expect(throws: WorkflowStoreError.self) {
            try await engine.send(to: "waiting-1", topic: "go", "now")
        }
        #expect(sent?.code == .durabilityLost)
        guard case .stopped(let error) = engine.health else {
            Issue.record("health is \(engine.health)")
            return
        }
        #expect(error.code == .durabilityLost && error.message.contains("fdatasync failed"))
        let ended = await #expect(throws: WorkflowStoreError.self) { try await waiting.result() }
        #expect(ended?.code == .durabilityLost)
        let refused = await #expect(throws: WorkflowStoreError.self) {
            try await engine.start(name: "waits", 1, id: "after", as: String.self)
        }
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

@Suite("A full disk under the engine", .timeLimit(.minutes(3)))
struct FullDiskTests {
    @Test(
        "a step whose checkpoint hits a full disk fails clearly; once space is freed the workflow continues from its last checkpoint"
    )
    func fullDiskThenRecovery() async throws {
        let dir = TemporaryDirectory()
        let full = Atomic<Bool>(false)
        let counter = RunCounter()
        var configuration = DurableEngine.Configuration(applicationVersion: "1")
        configuration.recoveryInterval = .milliseconds(50)
        var options = LogStore.Options()
        options.writeFault = { path, _ in
            full.load(ordering: .relaxed) && path.hasSuffix(".wlog") ? (0, ENOSPC) : nil
        }
        let engine = DurableEngine(
            store: try FileWorkflowStore(directory: dir.data, options: options), configuration: configuration)
        engine.register(name: "two-steps") { (_: Int, context: WorkflowContext) -> Int in
            let one = try await context.step("one") { () -> Int in
                counter.hit("one")
                return 1
            }
            let two = try await context.step("two") { () -> Int in
                counter.hit("two")
                if counter["two"] == 1 { full.store(true, ordering: .relaxed) }  // the disk fills as the step ends
                return 2
            }
            return one + two
        }
        try await engine.launch()
        let handle = try await engine.start(name: "two-steps", 0, id: "disk-1", as: Int.self)
        let error = await #expect(throws: WorkflowStoreError.self) { try await handle.result() }
        #expect(error?.code == .unavailable && error?.workflowID == "disk-1", "\(String(describing: error))")
        #expect(error?.message.contains("No space left") == true, "\(String(describing: error))")
        #expect(try await engine.steps(of: "disk-1").map(\.name) == ["one"], "what was acknowledged is kept")
        full.store(false, ordering: .relaxed)  // space freed: the recovery sweep continues it
        #expect(try await eventually { try await engine.status(of: "disk-1") == .success })
        #expect(try await engine.handle(for: "disk-1", as: Int.self).result() == 3)
        #expect(counter["one"] == 1 && counter["two"] == 2, "step one was checkpointed; step two ran again")
        #expect(engine.health == .serving, "a full disk is not a failed fsync")
        await engine.shutdown()
    }
}
