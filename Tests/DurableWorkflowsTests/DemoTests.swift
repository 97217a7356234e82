import DurableLog
import DurableTesting
import DurableWorkflows
import Foundation
import Testing

@Suite("The demo", .timeLimit(.minutes(3)))
struct DemoTests {
    @Test("the README's demo kills a worker mid-run and a new process resumes the workflow")
    func demoResumesAfterSIGKILL() async throws {
        let dir = TemporaryDirectory()
        let (status, _, output) = try await ChildProcess(
            "durable-demo", [], environment: ["DURABLE_DIR": dir.data]
        ).finish()
        #expect(status == 0, "\(output)")
        #expect(output.contains("sent SIGKILL to worker"))
        #expect(output.contains("status PENDING, 3 checkpointed steps"))
        #expect(output.components(separatedBy: "REPLAYED from the log").count - 1 == 3)
        #expect(
            output.contains("step 4 ship: done and checkpointed")
                && output.contains("step 5 email-receipt: done and checkpointed"))
        #expect(output.contains("is SUCCESS"))
        #expect(output.contains("replays cleanly, 5 operations"), "the demo replays its log at the end")
        let workflows = try LogStore.open(directory: dir.data).index.allEntries()
        #expect(workflows.count == 1 && workflows.first?.status == .success)
    }

    @Test("`durable-demo replay-verify` exits 0 on the demo's logs and 1 on workflows it does not know")
    func demoReplayVerify() async throws {
        let dir = TemporaryDirectory()
        #expect(try await ChildProcess("durable-demo", [], environment: ["DURABLE_DIR": dir.data]).finish().status == 0)
        let clean = try await ChildProcess("durable-demo", ["replay-verify", "--dir", dir.data]).finish()
        let cleanOutput = clean.output
        #expect(clean.status == 0, "\(cleanOutput)")
        #expect(cleanOutput.contains("1 workflows replayed") && cleanOutput.contains("1 clean"), "\(cleanOutput)")

        let engine = try makeEngine(dir)  // a workflow the demo's binary does not register
        engine.register(name: "other") { (_: Int, context: WorkflowContext) -> Int in try await context.step("s") { 1 }
        }
        try await engine.launch()
        #expect(try await engine.start(name: "other", 0, id: "foreign", as: Int.self).result() == 1)
        await engine.shutdown()
        let json = try await ChildProcess("durable-demo", ["replay-verify", "--dir", dir.data, "--json"]).finish()
        let lines = json.output.split(separator: "\n")
        #expect(json.status == 1)
        #expect(lines.count == 3, "\(lines)")
        #expect(
            lines.contains { $0.contains(#""workflowID":"foreign""#) && $0.contains(#""outcome":"notReplayable""#) })
        #expect(lines.last?.contains(#""clean":1"#) == true && lines.last?.contains(#""not_replayable":1"#) == true)

        let plain = try await ChildProcess("durable", ["replay-verify", "--dir", dir.data]).finish()
        #expect(plain.status == 64, "the plain tool knows no workflows: a usage error")
    }
}
