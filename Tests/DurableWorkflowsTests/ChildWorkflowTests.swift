import DurableTesting
import DurableWorkflows
import Foundation
import Testing

struct Doubler: Workflow {
    static let name = "double"
    let counter: RunCounter
    func run(_ n: Int, context: WorkflowContext) async throws -> Int {
        try await context.step("compute") { () -> Int in
            counter.hit("double-\(n)")
            if n < 0 { throw PortableError(name: "Negative", message: "\(n) < 0") }
            return n * 2
        }
    }
}

struct Parent: Workflow {
    static let name = "parent"
    let counter: RunCounter
    let blockOnce: Bool
    func run(_ n: Int, context: WorkflowContext) async throws -> [Int] {
        let first = try await context.runChild(Doubler.self, n)
        let second = try await context.startChild(Doubler.self, n + 1, id: "custom-child-\(n)")
        try await context.step("between") {
            counter.hit("between")
            if blockOnce && counter["between"] == 1 { try await Task.sleep(for: .seconds(3600)) }
        }
        return [first, try await second.result()]
    }
}

@Suite("Child workflows", .timeLimit(.minutes(3)))
struct ChildWorkflowTests {
    @Test("a parent starts children as recorded operations, awaits their results, and the index links them")
    func parentAndChildren() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let engine = try makeEngine(dir)
        engine.register(Doubler(counter: counter))
        engine.register(Parent(counter: counter, blockOnce: false))
        try await engine.launch()
        #expect(try await engine.run(Parent.self, 5, id: "p") == [10, 12])
        let steps = try await engine.steps(of: "p")
        #expect(steps.map(\.name) == ["double", "DBOS.getResult", "double", "between", "DBOS.getResult"])
        #expect(steps.map(\.childWorkflowID) == ["p-1", "p-1", "custom-child-5", nil, "custom-child-5"])
        #expect(steps[1].output == "10")
        #expect(try await engine.children(of: "p").map(\.workflowID) == ["p-1", "custom-child-5"])
        #expect(try await engine.children(of: "p").allSatisfy { $0.parentWorkflowID == "p" && $0.status == .success })
        try await engine.expectReplaysCleanly()  // the communication logs replay cleanly
        await engine.shutdown()
    }

    @Test("a child's error reaches the parent with its name and is recorded there")
    func childErrors() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let engine = try makeEngine(dir)
        engine.register(Doubler(counter: counter))
        engine.register(name: "catcher") { (n: Int, context: WorkflowContext) -> String in
            do {
                return "\(try await context.runChild(Doubler.self, n))"
            } catch let error as PortableError {
                return "caught \(error.name)"
            }
        }
        try await engine.launch()
        #expect(try await engine.start(name: "catcher", -3, id: "c", as: String.self).result() == "caught Negative")
        #expect(try await engine.steps(of: "c").last?.error?.name == "Negative")
        try await engine.expectReplaysCleanly()  // the communication logs replay cleanly
        await engine.shutdown()
    }

    @Test("a recovered parent finds its children instead of starting them again")
    func recoveredParentReusesChildren() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let first = try makeEngine(dir)
        first.register(Doubler(counter: counter))
        first.register(Parent(counter: counter, blockOnce: true))
        try await first.launch()
        _ = try await first.start(Parent.self, 7, id: "rp")
        while counter["between"] == 0 { try await Task.sleep(for: .milliseconds(5)) }
        await first.shutdown()

        let second = try makeEngine(dir)
        second.register(Doubler(counter: counter))
        second.register(Parent(counter: counter, blockOnce: true))
        #expect(try await second.launch().contains("rp"))
        #expect(try await second.handle(for: "rp", as: [Int].self).result() == [14, 16])
        #expect(counter["double-7"] == 1 && counter["double-8"] == 1, "each child ran once")
        await second.shutdown()
    }
}
