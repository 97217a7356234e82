import DurableLog
import DurableTesting
import DurableWorkflows
import Foundation
import Testing

@Suite("The demo", .timeLimit(.minutes(2)))
struct DemoTests {
    @Test("the README's demo kills a worker mid-run and a new process resumes the workflow")
    func demoResumesAfterSIGKILL() throws {
        let dir = TemporaryDirectory()
        let demo = try ChildProcess("durable-demo", [], environment: ["DURABLE_DIR": dir.data])
        let output = demo.allOutput()
        #expect(demo.wait().status == 0, "\(output)")
        #expect(output.contains("sent SIGKILL to worker"))
        #expect(output.contains("status PENDING, 3 checkpointed steps"))
        #expect(output.components(separatedBy: "REPLAYED from the log").count - 1 == 3)
        #expect(
            output.contains("step 4 ship: done and checkpointed")
                && output.contains("step 5 email-receipt: done and checkpointed"))
        #expect(output.contains("is SUCCESS"))
        let workflows = try LogStore.open(directory: dir.data).index.allEntries()
        #expect(workflows.count == 1 && workflows.first?.status == .success)
    }
}
