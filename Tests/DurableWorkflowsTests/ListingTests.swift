import DurableTesting
import DurableWorkflows
import Foundation
import Testing

@Suite("Listing workflows and steps", .timeLimit(.minutes(3)))
struct ListingTests {
    @Test("list filters by status, name, ID prefix, time and version, with limit, offset and order")
    func listFilters() async throws {
        let dir = TemporaryDirectory()
        let clock = ManualClock(start: 1_000_000)
        let engine = try makeEngine(dir, clock: clock)
        engine.register(name: "ok") { (n: Int, _: WorkflowContext) in n }
        engine.register(name: "fails") { (n: Int, _: WorkflowContext) -> Int in
            throw PortableError(name: "Boom", message: "\(n)")
        }
        try await engine.launch()
        for i in 0..<6 {
            clock.advance(by: .seconds(1))
            _ = try? await engine.start(name: i % 3 == 0 ? "fails" : "ok", i, id: "job-\(i)", as: Int.self).result()
        }
        _ = try await engine.start(name: "ok", 9, id: "other", as: Int.self).result()
        var filter = WorkflowFilter()
        #expect(
            try await engine.listWorkflows(filter).map(\.workflowID) == [
                "job-0", "job-1", "job-2", "job-3", "job-4", "job-5", "other",
            ])
        filter.statuses = [.error]
        let failed = try await engine.listWorkflows(filter)
        #expect(failed.map(\.workflowID) == ["job-0", "job-3"])
        #expect(failed.allSatisfy { $0.errorName == "Boom" && $0.name == "fails" })
        filter = WorkflowFilter()
        filter.name = "ok"
        filter.idPrefix = "job-"
        filter.newestFirst = true
        filter.limit = 2
        filter.offset = 1
        #expect(try await engine.listWorkflows(filter).map(\.workflowID) == ["job-4", "job-2"])
        filter = WorkflowFilter()
        filter.createdAfter = 1_003_000
        filter.createdBefore = 1_005_000
        #expect(try await engine.listWorkflows(filter).map(\.workflowID) == ["job-2", "job-3"])
        filter = WorkflowFilter()
        filter.applicationVersion = "other-version"
        #expect(try await engine.listWorkflows(filter).isEmpty)
        await engine.shutdown()
    }

    @Test("durable list, inspect and steps show workflows and their step traces")
    func cliListInspectSteps() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let engine = try makeEngine(dir)
        engine.register(Checkout(counter: counter))
        try await engine.launch()
        _ = try await engine.run(Checkout.self, Order(id: "o-7", amount: 700), id: "order-7")
        _ = try? await engine.run(Checkout.self, Order(id: "o-8", amount: -8), id: "order-8")
        await engine.shutdown()

        var run = try ChildProcess("durable", ["list", "--dir", dir.data])
        var output = run.allOutput()
        #expect(run.wait().status == 0)
        #expect(
            output.contains("order-7") && output.contains("SUCCESS") && output.contains("order-8")
                && output.contains("ERROR"))
        run = try ChildProcess("durable", ["list", "--dir", dir.data, "--status", "ERROR", "--json"])
        output = run.allOutput()
        #expect(output.contains("\"workflowID\":\"order-8\"") && !output.contains("order-7"))
        run = try ChildProcess("durable", ["inspect", "order-7", "--dir", dir.data])
        output = run.allOutput()
        #expect(output.contains("input   {\"namedArgs\":{},\"positionalArgs\":[{\"amount\":700,\"id\":\"o-7\"}]}"))
        #expect(output.contains("output  {\"charged\":700,\"emailed\":true,\"order\":\"o-7\"}"))
        #expect(output.contains("reserve") && output.contains("charge") && output.contains("email"))
        run = try ChildProcess("durable", ["steps", "order-8", "--dir", dir.data, "--json"])
        output = run.allOutput()
        #expect(output.contains("\"name\":\"charge\"") && output.contains("PaymentDeclined"))
        #expect(run.wait().status == 0)
    }
}

@Suite("durable events and tail", .timeLimit(.minutes(3)))
struct EventsAndTailCLITests {
    @Test("`durable tail` follows a live workflow to its end; `durable events` shows latest values and history")
    func tailAndEvents() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        engine.register(name: "progress") { (_: Int, context: WorkflowContext) -> String in
            try await context.setEvent("stage", "reserved")
            try await context.sleep(for: .milliseconds(300))
            _ = try await context.step("ship") { "TRACK-1" }
            try await context.setEvent("stage", "shipped")
            return "done"
        }
        try await engine.launch()
        let handle = try await engine.start(name: "progress", 0, id: "live", as: String.self)
        let tail = try ChildProcess("durable", ["tail", "live", "--dir", dir.data])
        #expect(try await handle.result() == "done")
        let followed = tail.allOutput()
        #expect(tail.wait().status == 0)
        #expect(
            followed.contains("#1 DBOS.setEvent") && followed.contains("#3 ship [step]")
                && followed.contains("SUCCESS \"done\""))
        let events = try ChildProcess("durable", ["events", "live", "--dir", dir.data])
        #expect(events.allOutput() == "stage = \"shipped\"\n")
        let history = try ChildProcess("durable", ["events", "live", "--history", "--dir", dir.data])
        #expect(history.allOutput() == "#1 stage = \"reserved\"\n#4 stage = \"shipped\"\n")
        await engine.shutdown()
    }
}
