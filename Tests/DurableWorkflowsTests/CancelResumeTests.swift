import DurableTesting
import DurableWorkflows
import Foundation
import Testing

/// Five steps, each waiting `delay` ms (cancellable); `counter` records real executions.
func fiveSlowSteps(counter: RunCounter, delay: Int) -> @Sendable (Int, WorkflowContext) async throws -> Int {
    { _, context in
        var total = 0
        for k in 1...5 {
            total += try await context.step("s\(k)") { () -> Int in
                counter.hit("s\(k)")
                if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
                return k
            }
        }
        return total
    }
}

@Suite("Cancel and resume", .timeLimit(.minutes(3)))
struct CancelResumeTests {
    @Test("cancelling a running workflow stops it at its next operation and records CANCELLED")
    func cancelRunning() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let engine = try makeEngine(dir)
        engine.register(name: "slow", fiveSlowSteps(counter: counter, delay: 200))
        try await engine.launch()
        let handle = try await engine.start(name: "slow", 0, id: "slow", as: Int.self)
        while counter["s2"] == 0 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(try await engine.cancel("slow") == .cancelled)
        let error = await #expect(throws: PortableError.self) { try await handle.result() }
        #expect(error?.name == "WorkflowCancelled")
        #expect(try await engine.status(of: "slow") == .cancelled)
        #expect(counter["s4"] == 0 && counter["s5"] == 0)
        #expect(try await engine.cancel("slow") == .cancelled, "cancelling again changes nothing")
        await engine.shutdown()
    }

    @Test("cancelling a workflow whose executor died marks it CANCELLED, and recovery leaves it alone")
    func cancelOrphan() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        try await leavePending(dir, id: "orphan", counter: counter)
        let engine = try makeEngine(dir)
        engine.register(Stuck(counter: counter, block: false))
        #expect(try await engine.cancel("orphan") == .cancelled)
        #expect(try await engine.launch() == [])
        #expect(try await engine.status(of: "orphan") == .cancelled)
        await engine.shutdown()
    }

    @Test("resume continues a cancelled workflow from its last completed step")
    func resumeCancelled() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let engine = try makeEngine(dir)
        engine.register(name: "slow", fiveSlowSteps(counter: counter, delay: 150))
        try await engine.launch()
        _ = try await engine.start(name: "slow", 0, id: "again", as: Int.self)
        while counter["s2"] == 0 { try await Task.sleep(for: .milliseconds(5)) }
        _ = try await engine.cancel("again")
        let done = try await engine.steps(of: "again").count
        let resumed = try await engine.resume("again", as: Int.self)
        #expect(try await resumed.result() == 15)
        #expect(try await engine.status(of: "again") == .success)
        for k in 1...done {
            #expect(counter["s\(k)"] == 1, "step \(k) was checkpointed before the cancel and must not run again")
        }
        await #expect(throws: WorkflowError.self) { _ = try await engine.resume("again", as: Int.self) }
        await engine.shutdown()
    }

    @Test("`durable cancel` from another process stops a workflow running here; `durable resume` hands it back")
    func cancelAndResumeFromTheCLI() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let engine = try makeEngine(dir)
        // slow enough for a CLI process to start
        engine.register(name: "slow", fiveSlowSteps(counter: counter, delay: 500))
        try await engine.launch()
        let handle = try await engine.start(name: "slow", 0, id: "remote", as: Int.self)
        while counter["s1"] == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let cancel = try ChildProcess("durable", ["cancel", "remote", "--dir", dir.data])
        #expect(cancel.wait().status == 0)
        let error = await #expect(throws: PortableError.self) { try await handle.result() }
        #expect(error?.name == "WorkflowCancelled")
        #expect(counter["s5"] == 0)

        let resume = try ChildProcess("durable", ["resume", "remote", "--dir", dir.data])
        #expect(resume.wait().status == 0)
        // The recovery sweep of this engine (same version, registered) runs it to completion.
        #expect(try await engine.handle(for: "remote", as: Int.self).result() == 15)
        #expect(counter["s1"] == 1)
        await engine.shutdown()
    }

    @Test("a resume right after a cancel waits for the cancelled run's owner to let go; a running one is refused")
    func resumeWaitsForTheCancelledOwner() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        try await leavePending(dir, id: "w", counter: counter)
        let client = try DurableClient(directory: dir.data)
        // Another store (its own open file descriptions, so its lease excludes the client's).
        let owner = try FileWorkflowStore(directory: dir.data)
        let running = try #require(try await owner.claim("w"))
        let refused = await #expect(throws: WorkflowError.self) { try await client.resume("w") }
        #expect(refused?.message.contains("running") == true)
        running.lease.release()

        #expect(try await client.cancel("w") == .cancelled)
        let letting = try #require(try await owner.claim("w"))
        let resume = Task { try await client.resume("w") }
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await client.status(of: "w") == .cancelled, "the resume waits while the owner holds it")
        letting.lease.release()
        try await resume.value
        #expect(try await client.status(of: "w") == .enqueued)
    }

    @Test("resume gives a workflow that exceeded its recovery attempts another run")
    func resumeAfterMaxRecoveryAttempts() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        try await leavePending(dir, id: "stuck", counter: counter)
        let limited = try makeEngine(dir, maxRecoveryAttempts: 0)
        limited.register(Stuck(counter: counter, block: false))
        #expect(try await limited.launch() == [])
        #expect(try await limited.status(of: "stuck") == .maxRecoveryAttemptsExceeded)
        #expect(try await limited.resume("stuck", as: Int.self).result() == 55)
        #expect(counter["one"] == 1 && counter["two"] == 1)
        await limited.shutdown()
    }

    @Test(
        "a cancel accepted while the workflow runs its last step is never lost: the workflow ends CANCELLED",
        .timeLimit(.minutes(3)))
    func cancelDuringTheLastStepWins() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let engine = try makeEngine(dir)
        engine.register(name: "last-step") { (n: Int, context: WorkflowContext) -> Int in
            try await context.step("only") { () -> Int in
                counter.hit("started")
                // The step outlasts the request, however loaded the machine: it ends once accepted.
                while counter["requested"] == 0 { try await Task.sleep(for: .milliseconds(5)) }
                return n
            }
        }
        try await engine.launch()
        let handle = try await engine.start(name: "last-step", 1, id: "last-1", as: Int.self)
        #expect(try await eventually { counter["started"] == 1 })
        // From another process's point of view (a client): the owner is alive, so the request is queued.
        let client = try DurableClient(directory: dir.data)
        #expect(try await client.cancel("last-1") == .pending)
        counter.hit("requested")
        await #expect(throws: PortableError.self) { try await handle.result() }
        #expect(try await engine.status(of: "last-1") == .cancelled)
        #expect(try await engine.steps(of: "last-1").map(\.name) == ["only"], "the step itself completed and is kept")
        await engine.shutdown()
    }
}
