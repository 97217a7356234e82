import DurableLog
import DurableTesting
import DurableWorkflows
import Foundation
import Testing

@Suite("`durable queues`, `durable enqueue` and `durable schedules`", .timeLimit(.minutes(3)))
struct QueueAndScheduleCLITests {
    func run(_ arguments: [String]) throws -> (output: String, status: Int32) {
        let process = try ChildProcess("durable", arguments)
        let output = process.allOutput()
        return (output, process.wait().status)
    }

    @Test("queues shows limits and per-partition counts; enqueue prints the new workflow's ID")
    func queues() async throws {
        let dir = TemporaryDirectory()
        let tracker = ActivityTracker()
        let engine = try makeEngine(dir)
        registerJob(engine, tracker)
        engine.register(
            WorkflowQueue(
                "mail", concurrency: 3, workerConcurrency: 2, rateLimit: .init(limit: 10, period: .seconds(60))))
        try await engine.launch()
        await engine.shutdown()  // nothing runs from here on: what is enqueued stays enqueued
        let enqueued = try run(["enqueue", "mail", "job", "{\"id\":\"cli\"}", "--partition", "eu", "--dir", dir.data])
        #expect(enqueued.status == 0)
        let id = enqueued.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try engine.store.readLog(name: id).records.isEmpty == false)
        _ = try run(["enqueue", "mail", "job", "{\"id\":\"later\"}", "--delay-ms", "600000", "--dir", dir.data])
        let malformed = try run(["enqueue", "mail", "job", "{not json", "--dir", dir.data])
        #expect(malformed.status != 0)
        let table = try run(["queues", "--dir", dir.data])
        #expect(table.status == 0)
        #expect(
            table.output.contains("mail") && table.output.contains("global 3, worker 2, rate 10/60000ms")
                && table.output.contains("eu"))
        let json = try run(["queues", "--json", "--dir", dir.data]).output
        #expect(json.contains("\"name\":\"mail\",\"concurrency\":3,\"workerConcurrency\":2,\"rateLimit\":10"))
        #expect(json.contains("{\"key\":\"eu\",\"enqueued\":1,\"delayed\":0,\"running\":0,\"busySlots\":0}"))
        #expect(json.contains("{\"key\":null,\"enqueued\":0,\"delayed\":1,\"running\":0,\"busySlots\":0}"))
    }

    @Test("a workflow enqueued under a name no executor of the queue registered is listed as unserved")
    func unservedNamesAreVisible() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        registerJob(engine, ActivityTracker())
        engine.register(WorkflowQueue("mail"))
        try await engine.launch()
        await engine.shutdown()
        let client = try DurableClient(directory: dir.data)
        _ = try await client.enqueue("jbo", jsonInput: "1", on: "mail")  // a typo: no executor knows "jbo"
        _ = try await client.enqueue("jbo", jsonInput: "2", on: "mail")
        _ = try await client.enqueue("job", jsonInput: #"{"id":"fine"}"#, on: "mail")
        let summary = try #require(try await client.storage.queues().first { $0.name == "mail" })
        #expect(summary.unservedWorkflows == ["jbo": 2], "the known name is not listed")
        #expect(summary.configuration?.workflowNames?.contains("job") == true)
        let table = try run(["queues", "--dir", dir.data])
        #expect(
            table.output.contains("2 workflows in queue \"mail\" named \"jbo\", which no executor serving the queue"),
            "\(table.output)")
        #expect(try run(["queues", "--json", "--dir", dir.data]).output.contains(#""unserved":{"jbo":2}"#))
    }

    @Test("schedules lists, pauses, resumes and triggers")
    func schedules() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        engine.register(name: "report") { (run: ScheduledRun, _: WorkflowContext) in run.triggered }
        engine.schedule(
            workflowNamed: "report", try CronSchedule("nightly", cron: "0 2 * * *", timeZone: "Europe/Berlin"))
        try await engine.launch()
        #expect(try await eventually { try await engine.storage.schedule(named: "nightly") != nil })
        var result = try run(["schedules", "--dir", dir.data])
        #expect(
            result.status == 0 && result.output.contains("nightly") && result.output.contains("0 2 * * *")
                && result.output.contains("active"))
        #expect(result.output.contains("T02:00:00+0"), "the next tick, in Berlin time")
        result = try run(["schedules", "pause", "nightly", "--dir", dir.data])
        #expect(result.status == 0)
        #expect(try await engine.storage.schedule(named: "nightly")?.paused == true)
        #expect(try run(["schedules", "list", "--json", "--dir", dir.data]).output.contains("\"paused\":true"))
        result = try run(["schedules", "trigger", "nightly", "--dir", dir.data])
        #expect(result.status == 0)
        let id = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.hasPrefix("sched-nightly-trigger-"))
        #expect(try await engine.handle(for: id, as: Bool.self).result() == true)
        result = try run(["schedules", "resume", "nightly", "--dir", dir.data])
        #expect(result.status == 0)
        #expect(try await engine.storage.schedule(named: "nightly")?.paused == false)
        #expect(try run(["schedules", "pause", "nope", "--dir", dir.data]).status != 0)
        await engine.shutdown()
    }
}

@Suite("Many queues", .timeLimit(.minutes(3)))
struct ManyQueuesTests {
    @Test("thirty queues served by one engine: every queue's workflows start (no queue starves another)")
    func noStarvation() async throws {
        let dir = TemporaryDirectory()
        let tracker = ActivityTracker()
        let engine = try makeEngine(dir)
        registerJob(engine, tracker)
        for q in 0..<30 { engine.register(WorkflowQueue("q\(q)", concurrency: 1)) }
        try await engine.launch()
        var handles: [WorkflowHandle<String>] = []
        for round in 0..<3 {
            for q in 0..<30 {
                handles.append(
                    try await engine.enqueue(
                        name: "job", Job(id: "q\(q)-\(round)", group: "q\(q)"), on: "q\(q)", as: String.self))
            }
        }
        for handle in handles { _ = try await handle.result() }
        #expect(Set(tracker.order).count == 90)
        for q in 0..<30 { #expect(tracker.maximum("q\(q)") == 1) }
        await engine.shutdown()
    }
}
