import DurableTesting
import DurableWorkflows
import Foundation
import Testing

/// A workflow of steps named `names`, each returning its name; the output joins them.
private func steps(_ names: [String], output: String? = nil) -> @Sendable (Int, WorkflowContext) async throws -> String
{
    { _, context in
        var done: [String] = []
        for name in names { done.append(try await context.step(name) { name }) }
        return output ?? done.joined(separator: ",")
    }
}

/// Step "a", a message on `topic`, then step "b".
private func approval(topic: String) -> @Sendable (Int, WorkflowContext) async throws -> String {
    { _, context in
        _ = try await context.step("a") { "a" }
        let answer = try await context.recv(topic: topic, as: String.self, timeout: .seconds(60)) ?? "timeout"
        _ = try await context.step("b") { "b" }
        return answer
    }
}

/// Every byte of every file under `path`, by relative path: a replay must change none.
private func snapshot(_ path: String) throws -> [String: Data] {
    var files: [String: Data] = [:]
    let enumerator = FileManager.default.enumerator(atPath: path)
    while let relative = enumerator?.nextObject() as? String {
        var isDirectory: ObjCBool = false
        let full = path + "/" + relative
        if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
            files[relative] = try Data(contentsOf: URL(fileURLWithPath: full))
        }
    }
    return files
}

@Suite("Replaying recorded workflows against new code", .timeLimit(.minutes(3)))
struct ReplayTests {
    /// Records: "done" (steps a, b, c, finished), "waiting" (a, then a recv on "approve": left
    /// pending), "approved" (a, recv "approve", b: finished), "parent" (a child "child-a", finished).
    private func record(_ dir: TemporaryDirectory) async throws {
        let engine = try makeEngine(dir)
        engine.register(name: "three", steps(["a", "b", "c"]))
        engine.register(name: "approval", approval(topic: "approve"))
        engine.register(name: "child-a", steps(["x"]))
        engine.register(name: "parent") { (_: Int, context: WorkflowContext) -> String in
            let child = try await context.runChild(name: "child-a", 0, as: String.self)
            return try await context.step("after") { "after " + child }
        }
        try await engine.launch()
        #expect(try await engine.start(name: "three", 0, id: "done", as: String.self).result() == "a,b,c")
        let approved = try await engine.start(name: "approval", 0, id: "approved", as: String.self)
        try await engine.send(to: "approved", topic: "approve", "yes")
        #expect(try await approved.result() == "yes")
        #expect(try await engine.start(name: "parent", 0, id: "parent", as: String.self).result() == "after x")
        _ = try await engine.start(name: "approval", 0, id: "waiting", as: String.self)
        while try await engine.steps(of: "waiting").count < 2 { try await Task.sleep(for: .milliseconds(5)) }
        await engine.shutdown()  // "waiting" stays PENDING, its log ending in the recv's deadline
    }

    /// An engine on `dir`, never launched, with the given code registered.
    private func replayer(
        _ dir: TemporaryDirectory, three: [String] = ["a", "b", "c"], threeOutput: String? = nil,
        topic: String = "approve", child: String = "child-a"
    ) throws -> (WorkflowReplayer, DurableEngine) {
        let engine = try makeEngine(dir)
        engine.register(name: "three", steps(three, output: threeOutput))
        engine.register(name: "approval", approval(topic: topic))
        engine.register(name: "child-a", steps(["x"]))
        engine.register(name: "child-b", steps(["x"]))
        engine.register(name: "parent") { (_: Int, context: WorkflowContext) -> String in
            let result = try await context.runChild(name: child, 0, as: String.self)
            return try await context.step("after") { "after " + result }
        }
        return (WorkflowReplayer(engine: engine), engine)
    }

    @Test("unchanged code replays every workflow cleanly, finished or not, and writes nothing anywhere")
    func unchangedCodeReplaysCleanly() async throws {
        let dir = TemporaryDirectory()
        try await record(dir)
        let before = try snapshot(dir.data)
        let (replayer, engine) = try replayer(dir)
        let summary = try await replayer.replay()
        #expect(summary.results.count == 5)  // the child too
        #expect(summary.results.allSatisfy { $0.outcome == .clean }, "\(summary.results)")
        let byID = Dictionary(uniqueKeysWithValues: summary.results.map { ($0.workflowID, $0) })
        #expect(byID["done"]?.replayedOperations == 3)
        #expect(byID["approved"]?.replayedOperations == 3)  // a, recv (its recorded deadline with it), b
        #expect(byID["waiting"]?.status == "PENDING")
        #expect(byID["waiting"]?.waitingFor == #"recv "DBOS.recv" (topic "approve")"#)
        try await engine.expectReplaysCleanly()
        #expect(try snapshot(dir.data) == before, "a replay changes no byte of the data directory")
    }

    @Test("each kind of code change is reported at the right position with what the log and the code hold")
    func changesAreReportedWhereTheyAre() async throws {
        let dir = TemporaryDirectory()
        try await record(dir)
        func divergence(_ replayer: WorkflowReplayer, _ id: String) async throws -> ReplayDivergence? {
            let result = try await replayer.replay(id)
            #expect(result.outcome == .diverged, "\(result)")
            return result.divergence
        }
        let renamed = try await divergence(try replayer(dir, three: ["a", "b2", "c"]).0, "done")
        #expect(renamed?.kind == .operation && renamed?.position == 2)
        #expect(renamed?.recorded == #"step "b""# && renamed?.current == #"step "b2""#)
        #expect(renamed?.remaining == [#"3: step "c""#])
        #expect(renamed?.input.contains("0") == true)

        let reordered = try await divergence(try replayer(dir, three: ["a", "c", "b"]).0, "done")
        #expect(reordered?.kind == .operation && reordered?.position == 2 && reordered?.current == #"step "c""#)

        let inserted = try await divergence(try replayer(dir, three: ["a", "new", "b", "c"]).0, "done")
        #expect(inserted?.kind == .operation && inserted?.position == 2 && inserted?.current == #"step "new""#)

        let removed = try await divergence(try replayer(dir, three: ["a", "b"]).0, "done")
        #expect(removed?.kind == .unreplayedTail && removed?.position == 3 && removed?.recorded == #"step "c""#)
        #expect(removed?.current == "returned")

        let appended = try await divergence(try replayer(dir, three: ["a", "b", "c", "d"]).0, "done")
        #expect(appended?.kind == .pastTheEnd && appended?.position == 4 && appended?.current == #"step "d""#)
        #expect(appended?.recorded == "SUCCESS")

        let output = try await divergence(try replayer(dir, threeOutput: "other").0, "done")
        #expect(
            output?.kind == .outcome && output?.recorded == #"output "a,b,c""# && output?.current == #"output "other""#)

        let child = try await divergence(try replayer(dir, child: "child-b").0, "parent")
        #expect(child?.kind == .operation && child?.position == 1)
        #expect(child?.recorded == #"child "child-a""# && child?.current == #"child "child-b""#)

        let topic = try await divergence(try replayer(dir, topic: "confirm").0, "approved")
        #expect(topic?.kind == .operation && topic?.position == 2)
        #expect(topic?.recorded == #"recv "DBOS.recv" (topic "approve")"#)
        #expect(topic?.current == #"recv "DBOS.recv" (topic "confirm")"#)
    }

    @Test("an unfinished workflow replays cleanly up to where its log ends, whatever the code does after")
    func unfinishedWorkflowStopsAtTheLogEnd() async throws {
        let dir = TemporaryDirectory()
        try await record(dir)
        let result = try await replayer(dir).0.replay("waiting")
        #expect(result.outcome == .clean)
        #expect(result.waitingFor == #"recv "DBOS.recv" (topic "approve")"#)
        #expect(result.replayedOperations == 1)
        // A change before the log's end is still caught in an unfinished workflow.
        let changed = try await replayer(dir, topic: "confirm").0.replay("waiting")
        #expect(changed.outcome == .clean, "the recv at the log's end is not recorded yet: nothing to compare")
        let renamedFirst = try makeEngine(dir)
        renamedFirst.register(name: "approval", steps(["z"]))
        #expect(try await WorkflowReplayer(engine: renamedFirst).replay("waiting").divergence?.position == 1)
    }

    @Test("a workflow whose name is not registered is reported as not replayable, and fails the gate")
    func unregisteredWorkflowFailsTheGate() async throws {
        let dir = TemporaryDirectory()
        try await record(dir)
        let engine = try makeEngine(dir)
        engine.register(name: "three", steps(["a", "b", "c"]))
        let summary = try await WorkflowReplayer(engine: engine).replay()
        #expect(summary.clean == 1)
        #expect(summary.notReplayable.count == 4)
        #expect(summary.notReplayable.first?.reason?.contains("is registered") == true)
        let failure = await #expect(throws: ReplayGateFailure.self) { try await engine.expectReplaysCleanly() }
        #expect(failure?.failed.count == 4 && failure?.replayed == 5)
    }
}
