#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DurableStorage
import DurableLog
import DurableWorkflows
import Logging
import Synchronization

/// An error a feature workflow throws on purpose.
struct FeatureError: Error, CustomStringConvertible {
    var description: String
}

extension TestHelper {
    /// `features <dir>`: builds a data directory whose workflows use every feature the export
    /// maps, then shuts down and prints the IDs it made, one per line. What it leaves behind:
    ///
    /// - `f-steps` (SUCCESS): a step with a value, one that returns nothing, a failing step the
    ///   workflow catches, a step that succeeds on its third attempt, a sleep, `now`, `uuid`.
    /// - `f-error` (ERROR): a step's error the workflow does not catch.
    /// - `f-talk` (SUCCESS): receives a message sent to it, times out on a second `recv`, sends
    ///   to `f-events`, reads `f-events`'s event, starts and awaits child `f-talk-child`.
    /// - `f-events` (SUCCESS): three values of event `progress`, stream `items` (3, closed),
    ///   stream `open` (1, never closed), receives the message `f-talk` sent.
    /// - `f-cancelled` (CANCELLED), `f-resumed` (cancelled, resumed, then SUCCESS), `f-waiting`
    ///   (PENDING: waiting in `recv` when the engine shut down), `f-forked` (forked from step 4
    ///   of `f-steps`, SUCCESS).
    /// - On queue `features-q` (concurrency 2, 10 starts per 60 s): `f-queued-done` (SUCCESS,
    ///   priority 3, deduplication ID), `f-delayed` (DELAYED an hour), `f-debounced` (debounced,
    ///   DELAYED), and `f-enqueued` on `features-idle` (ENQUEUED: no executor serves it).
    /// - Schedule `features-cron` (every second, paused after its first tick finished): one
    ///   SUCCESS tick `sched-features-cron-<time>`.
    static func runFeatures(directory: String) async throws {
        var configuration = DurableEngine.Configuration(applicationVersion: "features")
        configuration.recoveryInterval = .milliseconds(50)
        configuration.logger.logLevel = .warning
        let engine = try TestHelper.engine(at: directory, configuration)
        registerFeatureWorkflows(on: engine)
        engine.register(WorkflowQueue("features-q", concurrency: 2, rateLimit: .init(limit: 10, period: .seconds(60))))
        engine.schedule(workflowNamed: "f-tick", try CronSchedule("features-cron", cron: "* * * * * *"))
        try await engine.launch()

        var ids = ["f-steps", "f-error", "f-events", "f-talk", "f-talk-child"]
        let events = try await engine.start(name: "f-events", "f-events", id: "f-events", as: String.self)
        let talk = try await engine.start(name: "f-talk", "f-talk", id: "f-talk", as: String.self)
        try await engine.send(to: "f-talk", topic: "greeting", "hello, talk")
        _ = try await talk.result()
        _ = try await events.result()
        _ = try await engine.start(name: "f-steps", "f-steps", id: "f-steps", as: String.self).result()
        _ = try? await engine.start(name: "f-error", "f-error", id: "f-error", as: String.self).result()
        _ = try await engine.fork("f-steps", fromStep: 4, newID: "f-forked", as: String.self).result()
        ids.append("f-forked")

        let cancelled = try await engine.start(name: "f-waiter", "f-cancelled", id: "f-cancelled", as: String.self)
        let resumed = try await engine.start(name: "f-waiter", "f-resumed", id: "f-resumed", as: String.self)
        _ = try await engine.start(name: "f-waiter", "f-waiting", id: "f-waiting", as: String.self)
        try await waitUntilRecorded(engine, ["f-cancelled", "f-resumed", "f-waiting"], steps: 2)
        _ = try await engine.cancel("f-cancelled")
        _ = try await engine.cancel("f-resumed")
        _ = try? await cancelled.result()
        _ = try? await resumed.result()
        try await engine.send(to: "f-resumed", topic: "wake", "resumed")
        _ = try await engine.resume("f-resumed", as: String.self).result()
        ids += ["f-cancelled", "f-resumed", "f-waiting"]

        var options = EnqueueOptions()
        options.id = "f-queued-done"
        options.priority = 3
        options.deduplicationID = "dedup-1"
        _ = try await engine.enqueue(name: "f-job", "queued", on: "features-q", options: options, as: String.self)
            .result()
        options = EnqueueOptions()
        options.id = "f-delayed"
        options.delay = .seconds(3600)
        _ = try await engine.enqueue(name: "f-job", "delayed", on: "features-q", options: options, as: String.self)
        options = EnqueueOptions()
        options.id = "f-enqueued"
        _ = try await engine.enqueue(name: "f-job", "idle", on: "features-idle", options: options, as: String.self)
        let debouncer = Debouncer<String, String>(name: "f-job", engine: engine, queue: "features-q")
        _ = try await debouncer.debounce(key: "doc-1", period: .seconds(3600), "first edit")
        let debounced = try await debouncer.debounce(key: "doc-1", period: .seconds(3600), "second edit")
        ids += ["f-queued-done", "f-delayed", "f-enqueued", debounced.workflowID]

        let tick = try await firstTick(engine)
        try await engine.pauseSchedule("features-cron")
        _ = try await engine.handle(for: tick, as: String.self).result()
        ids.append(tick)
        await engine.shutdown()
        for id in ids { print(id) }
        fflush(stdout)
    }

    static func registerFeatureWorkflows(on engine: DurableEngine) {
        engine.register(name: "f-steps") { (id: String, context: WorkflowContext) -> String in
            let value = try await context.step("value") { () -> Int in 42 }
            try await context.step("nothing") {}
            do {
                try await context.step("fails") { throw FeatureError(description: "card declined") }
            } catch {}
            let attempts = Counter()
            let flaky = try await context.step("flaky", retry: .exponential(maxAttempts: 3, interval: .milliseconds(1)))
            { () -> String in
                if attempts.next() < 3 { throw FeatureError(description: "try again") }
                return "third time"
            }
            try await context.sleep(for: .milliseconds(20))
            _ = try await context.now()
            _ = try await context.uuid()
            return "\(id): \(value) \(flaky)"
        }
        engine.register(name: "f-error") { (id: String, context: WorkflowContext) -> String in
            _ = try await context.step("before") { () -> Int in 1 }
            return try await context.step("boom") { () -> String in
                throw FeatureError(description: "\(id) failed on purpose")
            }
        }
        engine.register(name: "f-events") { (id: String, context: WorkflowContext) -> String in
            for k in 1...3 { try await context.setEvent("progress", ["step": k]) }
            for item in ["a", "b", "c"] { try await context.writeStream("items", item) }
            try await context.closeStream("items")
            try await context.writeStream("open", 1)
            try await context.setEvent("ready", true)
            let note = try await context.recv(topic: "note", as: String.self, timeout: .seconds(30))
            return note ?? "no note"
        }
        engine.register(name: "f-talk") { (id: String, context: WorkflowContext) -> String in
            let greeting = try await context.recv(topic: "greeting", as: String.self, timeout: .seconds(30))
            let nothing = try await context.recv(topic: "silence", as: String.self, timeout: .milliseconds(30))
            let ready = try await context.getEvent(of: "f-events", key: "ready", as: Bool.self, timeout: .seconds(30))
            try await context.send(to: "f-events", topic: "note", "from \(id)")
            let child = try await context.runChild(FeatureChild.self, 21, id: "f-talk-child")
            return "\(greeting ?? "-") \(nothing ?? "nil") \(ready ?? false) \(child)"
        }
        engine.register(FeatureChild())
        engine.register(name: "f-waiter") { (id: String, context: WorkflowContext) -> String in
            _ = try await context.step("begin") { () -> String in id }
            return try await context.recv(topic: "wake", as: String.self, timeout: .seconds(3600)) ?? "timed out"
        }
        engine.register(name: "f-job") { (input: String, context: WorkflowContext) -> String in
            try await context.step("job") { () -> String in "did \(input)" }
        }
        engine.register(name: "f-tick") { (run: ScheduledRun, context: WorkflowContext) -> String in
            try await context.step("tick") { () -> String in run.scheduledTime }
        }
    }

    /// Waits until each of `ids` has recorded `steps` operations.
    static func waitUntilRecorded(_ engine: DurableEngine, _ ids: [String], steps: Int) async throws {
        for id in ids {
            while try await engine.steps(of: id).count < steps { try await Task.sleep(for: .milliseconds(10)) }
        }
    }

    /// The ID of the schedule's first tick, once it exists.
    static func firstTick(_ engine: DurableEngine) async throws -> String {
        while true {
            var filter = WorkflowFilter()
            filter.name = "f-tick"
            if let tick = try await engine.listWorkflows(filter).first { return tick.workflowID }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// A child workflow: doubles its input in one step.
struct FeatureChild: Workflow {
    static let name = "f-child"

    func run(_ input: Int, context: WorkflowContext) async throws -> Int {
        try await context.step("double") { input * 2 }
    }
}

/// Counts the attempts of a retried step (the body runs on one task at a time).
final class Counter: Sendable {
    private let value = Locked(0)
    func next() -> Int {
        value.withLock {
            $0 += 1; return $0
        }
    }
}
