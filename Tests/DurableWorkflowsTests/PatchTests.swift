import DurableTesting
import DurableWorkflows
import Foundation
import Testing

/// The workflow "patched" in three versions: v1 runs steps a, b, c; v2 adds step x behind
/// `patched("extra")` after a; v3 retires the patch (`deprecatePatch`, x unconditional). Input 2
/// blocks in step b and input 3 in step c (for an hour: a shutdown interrupts it) when `blocking`.
private func version(_ number: Int, blocking: Bool) -> @Sendable (Int, WorkflowContext) async throws -> String {
    { input, context in
        func step(_ name: String, blocksOn value: Int) async throws -> String {
            try await context.step(name) { () -> String in
                if blocking && input == value { try await Task.sleep(for: .seconds(3600)) }
                return name
            }
        }
        var done = [try await step("a", blocksOn: -1)]
        switch number {
        case 2: if try await context.patched("extra") { done.append(try await step("x", blocksOn: -1)) }
        case 3:
            try await context.deprecatePatch("extra")
            done.append(try await step("x", blocksOn: -1))
        default: break
        }
        done.append(try await step("b", blocksOn: 2))
        done.append(try await step("c", blocksOn: 3))
        return done.joined(separator: ",")
    }
}

@Suite("Patching a workflow while old executions run", .timeLimit(.minutes(3)))
struct PatchTests {
    private func engine(_ dir: TemporaryDirectory, _ number: Int, blocking: Bool) throws -> DurableEngine {
        let engine = try makeEngine(dir)
        engine.register(name: "patched", version(number, blocking: blocking))
        return engine
    }

    private func waitForSteps(_ engine: DurableEngine, _ id: String, _ count: Int) async throws {
        while try await engine.steps(of: id).count < count { try await Task.sleep(for: .milliseconds(5)) }
    }

    @Test(
        "old executions keep the old path and new ones take the new; both replay; `durable patches` tells what depends on it"
    )
    func patchedChangeAcrossVersions() async throws {
        let dir = TemporaryDirectory()
        let v1 = try engine(dir, 1, blocking: true)
        try await v1.launch()
        #expect(try await v1.start(name: "patched", 0, id: "old-done", as: String.self).result() == "a,b,c")
        _ = try await v1.start(name: "patched", 3, id: "old-past", as: String.self)  // a, b recorded; in c
        _ = try await v1.start(name: "patched", 2, id: "old-mid", as: String.self)  // a recorded; in b
        try await waitForSteps(v1, "old-past", 2)
        try await waitForSteps(v1, "old-mid", 1)
        await v1.shutdown()

        // v2 deployed: it recovers the old executions and starts new ones.
        let v2 = try engine(dir, 2, blocking: true)
        try await v2.launch()
        #expect(try await v2.start(name: "patched", 0, id: "new-done", as: String.self).result() == "a,x,b,c")
        _ = try await v2.start(name: "patched", 3, id: "new-blocked", as: String.self)
        try await waitForSteps(v2, "new-blocked", 4)  // a, the marker, x, b; in c
        try await waitForSteps(v2, "old-mid", 3)  // reached the patch point after the change: a, the marker, x
        #expect(try await v2.steps(of: "old-past").map(\.name) == ["a", "b"], "past the patch on the old path")
        #expect(try await v2.steps(of: "old-mid").map(\.name).prefix(2) == ["a", "DBOS.patch-extra"])

        let usage = try #require(try await v2.patchUsage().first)
        #expect(usage.patch == "extra" && usage.workflowName == "patched" && usage.position == 2)
        #expect(usage.withMarker == ["new-blocked", "old-mid"])
        #expect(usage.onOldPath == ["old-past"])
        #expect(usage.verdict.hasPrefix("keep the old path"))
        let report = try await ChildProcess("durable", ["patches", "--dir", dir.data]).finish()
        let text = report.output
        #expect(report.status == 0)
        #expect(text.contains("extra") && text.contains("keep the old path"), "\(text)")
        await v2.shutdown()

        // The patched code replays every log, old and new; retiring the patch now would not.
        let replayV2 = try engine(dir, 2, blocking: false)
        try await replayV2.expectReplaysCleanly()
        let summary = try await WorkflowReplayer(engine: try engine(dir, 3, blocking: false)).replay()
        #expect(Set(summary.diverged.map(\.workflowID)) == ["old-done", "old-past"])
        let early = try #require(summary.diverged.first { $0.workflowID == "old-past" }?.divergence)
        #expect(early.position == 2 && early.recorded == #"step "b""# && early.current == #"step "x""#)

        // Every execution finishes on the path it took.
        try await replayV2.launch()
        #expect(try await replayV2.handle(for: "old-past", as: String.self).result() == "a,b,c")
        #expect(try await replayV2.handle(for: "old-mid", as: String.self).result() == "a,x,b,c")
        #expect(try await replayV2.handle(for: "new-blocked", as: String.self).result() == "a,x,b,c")
        let finished = try #require(try await replayV2.patchUsage().first)
        #expect(finished.withMarker.isEmpty && finished.onOldPath.isEmpty)
        #expect(finished.verdict.hasPrefix("no unfinished workflow holds the marker"))
        await replayV2.shutdown()
    }

    @Test("with the patch retired, executions that recorded its marker replay and recover; new ones record none")
    func deprecatedPatchConsumesOldMarkers() async throws {
        let dir = TemporaryDirectory()
        let v2 = try engine(dir, 2, blocking: true)
        try await v2.launch()
        _ = try await v2.start(name: "patched", 3, id: "marked", as: String.self)
        try await waitForSteps(v2, "marked", 4)
        await v2.shutdown()

        let v3 = try engine(dir, 3, blocking: false)
        try await v3.expectReplaysCleanly()
        try await v3.launch()
        #expect(try await v3.handle(for: "marked", as: String.self).result() == "a,x,b,c")
        #expect(try await v3.start(name: "patched", 0, id: "fresh", as: String.self).result() == "a,x,b,c")
        #expect(try await v3.steps(of: "fresh").map(\.name) == ["a", "x", "b", "c"], "no marker recorded")
        await v3.shutdown()
    }

    @Test("a patch needs a name: an empty one fails the workflow with an error saying so")
    func emptyPatchNameIsRefused() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        engine.register(name: "nameless") { (_: Int, context: WorkflowContext) -> Bool in
            try await context.patched("")
        }
        try await engine.launch()
        let error = await #expect(throws: PortableError.self) {
            _ = try await engine.start(name: "nameless", 0, id: "n", as: Bool.self).result()
        }
        #expect(error?.message.contains("the patch name") == true, "\(String(describing: error))")
        await engine.shutdown()
    }
}
