import DurableLog
import DurableTesting
import Foundation
import Testing

@testable import DurableWorkflows

/// A workflow whose third step blocks until the engine shuts down, leaving it PENDING with two
/// recorded steps: the in-process stand-in for "the executor died here".
struct Stuck: Workflow {
    static let name = "stuck"
    let counter: RunCounter
    let block: Bool

    func run(_ input: Int, context: WorkflowContext) async throws -> Int {
        let a = try await context.step("one") { () -> Int in
            counter.hit("one"); return input + 1
        }
        let b = try await context.step("two") { () -> Int in
            counter.hit("two"); return a * 10
        }
        let c = try await context.step("three") { () -> Int in
            counter.hit("three")
            if block { try await Task.sleep(for: .seconds(3600)) }
            return b + 5
        }
        return c
    }
}

/// Leaves workflow `id` pending after steps one and two by shutting the engine down inside step three.
func leavePending(_ dir: TemporaryDirectory, id: String, counter: RunCounter, version: String = "1") async throws {
    let engine = try makeEngine(dir, version: version)
    engine.register(Stuck(counter: counter, block: true))
    try await engine.launch()
    _ = try await engine.start(Stuck.self, 4, id: id)
    while counter["three"] == 0 { try await Task.sleep(for: .milliseconds(5)) }
    await engine.shutdown()
}

@Suite("Recovery and non-determinism", .timeLimit(.minutes(3)))
struct RecoveryTests {
    @Test("a pending workflow is resumed by a new engine; recorded steps are not run again")
    func recoveryReplaysRecordedSteps() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        try await leavePending(dir, id: "resume-me", counter: counter)
        #expect(counter["one"] == 1 && counter["two"] == 1 && counter["three"] == 1)

        let engine = try makeEngine(dir)
        engine.register(Stuck(counter: counter, block: false))
        let recovered = try await engine.launch()
        #expect(recovered == ["resume-me"])
        #expect(try await engine.handle(for: "resume-me", as: Int.self).result() == 55)
        #expect(counter["one"] == 1 && counter["two"] == 1, "checkpointed steps must not run again")
        #expect(counter["three"] == 2, "the interrupted step runs again (at least once)")
        let history = try engine.store.readLog(name: "resume-me")
        #expect(history.indexFields.recoveryAttempts == 2)
        await engine.shutdown()
    }

    @Test("recovery is pinned to the application version that started the workflow")
    func recoveryIsPinnedToVersion() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        try await leavePending(dir, id: "v1-only", counter: counter, version: "1")
        let v2 = try makeEngine(dir, version: "2")
        v2.register(Stuck(counter: counter, block: false))
        #expect(try await v2.launch() == [])
        #expect(try await v2.status(of: "v1-only") == .pending)
        await v2.shutdown()
        let v1 = try makeEngine(dir, version: "1")
        v1.register(Stuck(counter: counter, block: false))
        #expect(try await v1.launch() == ["v1-only"])
        #expect(try await v1.handle(for: "v1-only", as: Int.self).result() == 55)
        await v1.shutdown()
    }

    @Test("recovered beyond the limit, a workflow moves to MAX_RECOVERY_ATTEMPTS_EXCEEDED")
    func maxRecoveryAttempts() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        try await leavePending(dir, id: "poison", counter: counter)
        for attempt in 2...3 {
            let engine = try makeEngine(dir, maxRecoveryAttempts: 2)
            engine.register(Stuck(counter: counter, block: true))
            #expect(try await engine.launch() == ["poison"])
            while counter["three"] < attempt { try await Task.sleep(for: .milliseconds(5)) }
            await engine.shutdown()
        }
        let engine = try makeEngine(dir, maxRecoveryAttempts: 2)
        engine.register(Stuck(counter: counter, block: true))
        #expect(try await engine.launch() == [])
        #expect(try await engine.status(of: "poison") == .maxRecoveryAttemptsExceeded)
        #expect(counter["three"] == 3)
        let error = await #expect(throws: PortableError.self) {
            try await engine.handle(for: "poison", as: Int.self).result()
        }
        #expect(error?.name == "MaxRecoveryAttemptsExceeded")
        await engine.shutdown()
    }

    @Test(
        "a workflow whose replay crashes the process uses up its attempts and ends MAX_RECOVERY_ATTEMPTS_EXCEEDED",
        .timeLimit(.minutes(3)))
    func poisonPillEndsInMaxRecoveryAttemptsExceeded() async throws {
        let dir = TemporaryDirectory()
        let ledger = dir.path + "/ledger", fired = dir.path + "/fired"
        // After step 2's checkpoint, every time, replays included: no attempt gets past it.
        let environment = ["KILL_AT": "poison-1:2:ack", "KILL_EVERY_TIME": "1", "FIRED": fired, "MAX_RECOVERY": "2"]
        var runs = 0
        var status: WorkflowStatus? = .pending
        while status == .pending && runs < 8 {
            let helper = try ChildProcess(
                "DurableTestHelper", ["workflows", dir.data, ledger] + (runs == 0 ? ["poison-1"] : []),
                environment: environment)
            _ = helper.wait()
            runs += 1
            status = try LogStore.open(directory: dir.data).index.entry(forWorkflowID: "poison-1")?.status
        }
        #expect(status == .maxRecoveryAttemptsExceeded)
        #expect(runs == 4, "the first run and two recoveries die; the fourth run sees the limit passed")
        let ran = try String(contentsOfFile: ledger, encoding: .utf8).split(separator: "\n").filter {
            $0.hasPrefix("run ")
        }
        #expect(ran == ["run poison-1 1", "run poison-1 2"], "checkpointed steps never ran again")
    }

    @Test(
        "a graceful shutdown never records the error a step throws because it was interrupted", .timeLimit(.minutes(3)))
    func shutdownDoesNotRecordAnInterruptedStepsError() async throws {
        struct Interrupted: Error {}
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let body: @Sendable (Int, WorkflowContext) async throws -> Int = { _, context in
            try await context.step("slow", retry: .exponential(maxAttempts: 3, interval: .milliseconds(1))) {
                () -> Int in
                counter.hit("slow")
                do { try await Task.sleep(for: .milliseconds(counter["slow"] == 1 ? 60_000 : 1)) } catch {
                    throw Interrupted()
                }
                return 7
            }
        }
        let first = try makeEngine(dir)
        first.register(name: "interruptible", body)
        try await first.launch()
        _ = try await first.start(name: "interruptible", 0, id: "slow-1", as: Int.self)
        #expect(try await eventually { counter["slow"] == 1 })
        await first.shutdown()
        #expect(try await first.steps(of: "slow-1").isEmpty, "the interruption is not the step's result")
        #expect(counter["slow"] == 1, "and it is not retried during shutdown")
        let second = try makeEngine(dir)
        second.register(name: "interruptible", body)
        #expect(try await second.launch() == ["slow-1"])
        #expect(try await second.handle(for: "slow-1", as: Int.self).result() == 7)
        await second.shutdown()
    }

    /// Code that no longer matches the log left by `Stuck`.
    enum Divergence: String, CaseIterable, Sendable {
        case renamedStep, differentKind, fewerSteps
    }

    @Test(
        "non-determinism stops the workflow with a clear error and writes nothing but the recovery attempt",
        arguments: Divergence.allCases)
    func nonDeterminism(_ divergence: Divergence) async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        try await leavePending(dir, id: "diverged", counter: counter)
        let engine = try makeEngine(dir)
        let path = try engine.store.logPath(name: "diverged")
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        engine.register(name: Stuck.name) { (input: Int, context: WorkflowContext) -> Int in
            switch divergence {
            case .renamedStep:
                _ = try await context.step("one") { input + 1 }
                return try await context.step("2nd") { 0 }
            case .differentKind:
                _ = try await context.now()
                return 0
            case .fewerSteps:
                return try await context.step("one") { input + 1 }
            }
        }
        _ = try await engine.launch()
        let error = await #expect(throws: NonDeterminismError.self) {
            try await engine.handle(for: "diverged", as: Int.self).result()
        }
        let text = "\(error.map { "\($0)" } ?? "")"
        #expect(text.contains("workflow \"diverged\" (stuck)"))
        switch divergence {
        case .renamedStep:
            #expect(text.contains("operation 2: the log recorded step \"two\", but the code now runs step \"2nd\""))
        case .differentKind:
            #expect(text.contains("operation 1: the log recorded step \"one\", but the code now runs now \"now\""))
        case .fewerSteps: #expect(text.contains("operation 2: the log recorded step \"two\", but the code returned"))
        }
        let after = try engine.store.readLog(name: "diverged")
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: path)).prefix(before.count) == before,
            "the log must be kept byte for byte")
        #expect(
            after.records.suffix(2).map(\.type) == [WorkflowEventCodec.attempt, .indexUpdate], "then only the attempt")
        #expect(try await engine.status(of: "diverged") == .pending)
        await engine.shutdown()
    }
}
