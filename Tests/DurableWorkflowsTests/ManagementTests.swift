import DurableTesting
import DurableWorkflows
import Foundation
import Testing

@Suite("Managing workflows from a workflow", .timeLimit(.minutes(3)))
struct ManagementTests {
    @Test(
        "status, cancel, resume and fork from inside a workflow are recorded under DBOS's names and not repeated on replay"
    )
    func managementCallsAreRecordedOperations() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        engine.register(name: "target") { (_: Int, context: WorkflowContext) -> String in
            try await context.recv(topic: "go", as: String.self, timeout: .seconds(30)) ?? "timed out"
        }
        engine.register(name: "manager") { (target: String, context: WorkflowContext) -> String in
            let before = try await context.status(of: target)
            try await context.cancelWorkflow(target)
            let after = try await context.status(of: target)
            try await context.resumeWorkflow(target)
            let fork = try await context.forkWorkflow(target, fromStep: 1)
            let missing = try await context.status(of: "no-such-workflow")
            return "\(before?.rawValue ?? "-") \(after?.rawValue ?? "-") \(fork) \(missing?.rawValue ?? "nil")"
        }
        try await engine.launch()
        let target = try await engine.start(name: "target", 0, id: "target", as: String.self)
        #expect(try await eventually { try await engine.steps(of: "target").count == 1 })  // waiting in recv
        let result = try await engine.start(name: "manager", "target", id: "manager", as: String.self).result()
        #expect(result == "PENDING CANCELLED manager-5-fork nil")
        #expect(
            try await engine.steps(of: "manager").map(\.name) == [
                "DBOS.getStatus", "DBOS.cancelWorkflow", "DBOS.getStatus", "DBOS.resumeWorkflow", "DBOS.forkWorkflow",
                "DBOS.getStatus",
            ])
        try await engine.send(to: "target", topic: "go", "resumed")
        #expect(try await target.result() == "resumed")
        try await engine.send(to: "manager-5-fork", topic: "go", "forked")
        #expect(try await engine.handle(for: "manager-5-fork", as: String.self).result() == "forked")

        // Replaying the manager (a fork from its last step) acts on nothing again: the target
        // stays SUCCESS instead of being cancelled, and no second fork appears.
        let replay = try await engine.fork("manager", fromStep: 6, newID: "manager-replay", as: String.self).result()
        #expect(replay == result)
        #expect(try await engine.status(of: "target") == .success)
        #expect(try await engine.listWorkflows().filter { $0.workflowID.hasSuffix("-fork") }.count == 1)
        await engine.shutdown()
    }

    @Test("a workflow cannot cancel, resume or fork itself from inside")
    func selfManagementIsRefused() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        engine.register(name: "self-cancel") { (_: Int, context: WorkflowContext) -> String in
            try await context.cancelWorkflow(context.workflowID)
            return "cancelled itself"
        }
        try await engine.launch()
        await #expect { try await engine.start(name: "self-cancel", 0, id: "me", as: String.self).result() } throws: {
            "\($0)".contains("cannot manage itself")
        }
        await engine.shutdown()
    }
}

@Suite("Workflow IDs are idempotency keys for one workflow", .timeLimit(.minutes(3)))
struct ConflictingIDTests {
    @Test("starting or enqueueing an existing ID under another workflow name is refused, naming both")
    func anIDBelongsToOneWorkflow() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        engine.register(name: "pay") { (n: Int, context: WorkflowContext) -> Int in
            try await context.step("charge") { n }
        }
        engine.register(name: "refund") { (n: Int, context: WorkflowContext) -> Int in
            try await context.step("refund") { -n }
        }
        try await engine.launch()
        #expect(try await engine.start(name: "pay", 5, id: "order-1", as: Int.self).result() == 5)
        #expect(
            try await engine.start(name: "pay", 6, id: "order-1", as: Int.self).result() == 5,
            "same name: the existing workflow")
        let error = await #expect(throws: ConflictingWorkflowError.self) {
            try await engine.start(name: "refund", 5, id: "order-1", as: Int.self)
        }
        #expect(error?.existingName == "pay" && error?.requestedName == "refund")
        let client = try DurableClient(directory: dir.data)
        await #expect(throws: ConflictingWorkflowError.self) {
            try await client.enqueue("refund", jsonInput: "5", on: "any", options: EnqueueOptions(id: "order-1"))
        }
        #expect(try await engine.steps(of: "order-1").map(\.name) == ["charge"])
        await engine.shutdown()
    }
}

@Suite("JSON given as text", .timeLimit(.minutes(3)))
struct JSONTextTests {
    @Test("enqueue and send refuse text that is not one storable JSON value (found by fuzzing: a NUL after a number)")
    func malformedJSONIsRefused() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        engine.register(name: "echo") { (n: Int, _: WorkflowContext) -> Int in n }
        try await engine.launch()
        _ = try await engine.start(name: "echo", 1, id: "target", as: Int.self).result()
        let client = try DurableClient(directory: dir.data)
        for text in ["0\u{0}", "1,2", "{", "1] , [2", ""] {
            await #expect(throws: WorkflowError.self, "\(text.debugDescription)") {
                try await client.enqueue("echo", jsonInput: text, on: "q")
            }
            await #expect(throws: WorkflowError.self, "\(text.debugDescription)") {
                try await client.send(to: "target", json: text)
            }
        }
        #expect(try await client.listWorkflows().map(\.workflowID) == ["target"], "nothing was stored")
        await engine.shutdown()
    }
}

@Suite("Error codes", .timeLimit(.minutes(3)))
struct ErrorCodeTests {
    @Test("engine errors carry codes callers can switch on")
    func engineErrorsHaveCodes() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        engine.register(name: "echo") { (n: Int, _: WorkflowContext) -> Int in n }
        await #expect { try await engine.start(name: "echo", 1, id: "early", as: Int.self) } throws: {
            ($0 as? WorkflowError)?.code == .notServing
        }
        try await engine.launch()
        await #expect { try await engine.start(name: "nope", 1, as: Int.self) } throws: {
            ($0 as? WorkflowError)?.code == .notRegistered
        }
        await #expect { try await engine.handle(for: "missing", as: Int.self).result() } throws: {
            ($0 as? WorkflowError)?.code == .notFound
        }
        await #expect {
            try await engine.enqueue(name: "echo", 1, on: "q", options: EnqueueOptions(priority: 0), as: Int.self)
        } throws: {
            ($0 as? WorkflowError)?.code == .invalidArgument
        }
        _ = try await engine.start(name: "echo", 1, id: "done", as: Int.self).result()
        await #expect { try await engine.resume("done", as: Int.self) } throws: {
            ($0 as? WorkflowError)?.code == .invalidState
        }
        await #expect { try await engine.fork("done", fromStep: 9, as: Int.self) } throws: {
            ($0 as? WorkflowError)?.code == .invalidArgument
        }
        await engine.shutdown()
        await #expect { try await engine.start(name: "echo", 1, as: Int.self) } throws: {
            ($0 as? WorkflowError)?.code == .notServing
        }
    }
}
