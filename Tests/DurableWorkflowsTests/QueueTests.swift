import DurableStorage
import DurableLog
import DurableTesting
import DurableWorkflows
import Foundation
import Synchronization
import Testing

/// Records when queued workflows start and stop (in this process), and how many overlapped.
final class ActivityTracker: Sendable {
    private struct State {
        var active: [String: Int] = [:]
        var maximum: [String: Int] = [:]
        var starts: [(id: String, at: ContinuousClock.Instant)] = []
    }
    private let state = Locked(State())

    func begin(_ id: String, group: String = "") {
        state.withLock { s in
            s.active[group, default: 0] += 1
            s.maximum[group] = max(s.maximum[group] ?? 0, s.active[group]!)
            s.starts.append((id, .now))
        }
    }

    func end(group: String = "") { state.withLock { $0.active[group, default: 0] -= 1 } }
    func maximum(_ group: String = "") -> Int { state.withLock { $0.maximum[group] ?? 0 } }
    var order: [String] { state.withLock { $0.starts.map(\.id) } }
    var startTimes: [ContinuousClock.Instant] { state.withLock { $0.starts.map(\.at) } }
}

struct Job: Codable, Sendable {
    var id: String
    var group: String = ""
    var holdMilliseconds: Int = 0
}

/// A workflow that holds a "slot" for a while, so overlaps are visible.
func registerJob(_ engine: DurableEngine, _ tracker: ActivityTracker) {
    engine.register(name: "job") { (job: Job, context: WorkflowContext) -> String in
        try await context.step("work") { () -> String in
            tracker.begin(job.id, group: job.group)
            defer { tracker.end(group: job.group) }
            if job.holdMilliseconds > 0 { try await Task.sleep(for: .milliseconds(job.holdMilliseconds)) }
            return job.id
        }
    }
}

/// The status a workflow's log was created with (what `status` said right after the enqueue,
/// however long the caller took to look).
func initialStatus(_ store: LogStore, _ id: String) throws -> WorkflowStatus? {
    let first = try store.readLog(name: id).records.first { $0.type == .indexUpdate }
    return first.flatMap { IndexDelta(decoding: $0.payload) }?.status
}

@Suite("Queues in one process", .timeLimit(.minutes(3)))
struct QueueTests {
    @Test("global concurrency: never more than the limit run at once, and every workflow finishes once")
    func concurrencyLimit() async throws {
        let dir = TemporaryDirectory()
        let tracker = ActivityTracker()
        let engine = try makeEngine(dir)
        registerJob(engine, tracker)
        engine.register(WorkflowQueue("q", concurrency: 2))
        var handles: [WorkflowHandle<String>] = []
        for i in 0..<12 {
            handles.append(
                try await engine.enqueue(name: "job", Job(id: "j\(i)", holdMilliseconds: 20), on: "q", as: String.self))
        }
        // Launched once all wait, so both slots fill however slowly a loaded machine enqueues.
        try await engine.launch()
        for (i, handle) in handles.enumerated() { #expect(try await handle.result() == "j\(i)") }
        #expect(tracker.maximum() <= 2)
        #expect(tracker.maximum() == 2, "the queue should use both slots")
        #expect(Set(tracker.order).count == 12 && tracker.order.count == 12)
        await engine.shutdown()
    }

    @Test("priority: unprioritised first in FIFO order, then ascending priority, FIFO among equals")
    func priorityOrder() async throws {
        let dir = TemporaryDirectory()
        let tracker = ActivityTracker()
        let engine = try makeEngine(dir)
        registerJob(engine, tracker)
        engine.register(WorkflowQueue("q", workerConcurrency: 1))
        // Enqueued before launch, so all wait and the order is decided by the queue alone.
        let plan: [(String, Int?)] = [("p5", 5), ("none-a", nil), ("p1-a", 1), ("p9", 9), ("p1-b", 1), ("none-b", nil)]
        var handles: [WorkflowHandle<String>] = []
        for (id, priority) in plan {
            handles.append(
                try await engine.enqueue(
                    name: "job", Job(id: id), on: "q", options: EnqueueOptions(id: id, priority: priority),
                    as: String.self))
        }
        #expect(try await engine.status(of: "p5") == .enqueued)
        try await engine.launch()
        for handle in handles { _ = try await handle.result() }
        #expect(tracker.order == ["none-a", "none-b", "p1-a", "p1-b", "p5", "p9"])
        await #expect(throws: WorkflowError.self) {
            _ = try await engine.enqueue(
                name: "job", Job(id: "x"), on: "q", options: EnqueueOptions(priority: 0), as: String.self)
        }
        await engine.shutdown()
    }

    @Test("deduplication: a live ID is refused (or its holder returned), and is free again once the holder ends")
    func deduplication() async throws {
        let dir = TemporaryDirectory()
        let tracker = ActivityTracker()
        let engine = try makeEngine(dir)
        registerJob(engine, tracker)
        engine.register(WorkflowQueue("q"))
        let first = try await engine.enqueue(
            name: "job", Job(id: "a"), on: "q", options: EnqueueOptions(deduplicationID: "user-7"), as: String.self)
        let error = await #expect(throws: QueueDeduplicatedError.self) {
            _ = try await engine.enqueue(
                name: "job", Job(id: "b"), on: "q", options: EnqueueOptions(deduplicationID: "user-7"), as: String.self)
        }
        #expect(error?.existingWorkflowID == first.workflowID)
        let same = try await engine.enqueue(
            name: "job", Job(id: "c"), on: "q",
            options: EnqueueOptions(deduplicationID: "user-7", onDuplicate: .returnExisting), as: String.self)
        #expect(same.workflowID == first.workflowID)
        // Another queue has its own deduplication IDs.
        _ = try await engine.enqueue(
            name: "job", Job(id: "d"), on: "other", options: EnqueueOptions(deduplicationID: "user-7"), as: String.self)
        try await engine.launch()
        #expect(try await first.result() == "a")
        let again = try await engine.enqueue(
            name: "job", Job(id: "e"), on: "q", options: EnqueueOptions(deduplicationID: "user-7"), as: String.self)
        #expect(try await again.result() == "e")
        #expect(tracker.order == ["a", "e"])
        await engine.shutdown()
    }

    @Test("delayed start: DELAYED until due, then started")
    func delayedStart() async throws {
        let dir = TemporaryDirectory()
        let tracker = ActivityTracker()
        let engine = try makeEngine(dir)
        registerJob(engine, tracker)
        engine.register(WorkflowQueue("q"))
        try await engine.launch()
        let delayed = try await engine.enqueue(
            name: "job", Job(id: "later"), on: "q", options: EnqueueOptions(delay: .milliseconds(1500)), as: String.self
        )
        let now = try await engine.enqueue(name: "job", Job(id: "now"), on: "q", as: String.self)
        #expect(try initialStatus(engine.store, delayed.workflowID) == .delayed)
        #expect(try await now.result() == "now")
        #expect(try await delayed.result() == "later")
        let entry = try #require(engine.store.index.entry(forWorkflowID: delayed.workflowID))
        #expect(entry.fields.startedAt! - entry.fields.createdAt! >= 1500)
        await engine.shutdown()
    }

    @Test("rate limit: no window of the period holds more starts than the limit")
    func rateLimit() async throws {
        let dir = TemporaryDirectory()
        let tracker = ActivityTracker()
        let engine = try makeEngine(dir)
        registerJob(engine, tracker)
        engine.register(WorkflowQueue("q", rateLimit: .init(limit: 3, period: .milliseconds(300))))
        try await engine.launch()
        var handles: [WorkflowHandle<String>] = []
        for i in 0..<8 {
            handles.append(try await engine.enqueue(name: "job", Job(id: "r\(i)"), on: "q", as: String.self))
        }
        for handle in handles { _ = try await handle.result() }
        let starts = handles.map { engine.store.index.entry(forWorkflowID: $0.workflowID)!.fields.startedAt! }.sorted()
        for (i, start) in starts.enumerated() {
            let inWindow = starts[i...].prefix { $0 < start + 300 }.count
            #expect(inWindow <= 3, "starts within 300 ms of \(start): \(inWindow)")
        }
        #expect(starts.last! - starts.first! >= 600, "8 starts at 3 per 300 ms need at least two full windows")
        await engine.shutdown()
    }

    @Test("partitions: each partition key has its own concurrency limit")
    func partitions() async throws {
        let dir = TemporaryDirectory()
        let tracker = ActivityTracker()
        let engine = try makeEngine(dir)
        registerJob(engine, tracker)
        engine.register(WorkflowQueue("q", concurrency: 1))
        try await engine.launch()
        var handles: [WorkflowHandle<String>] = []
        for i in 0..<6 {
            let group = i % 2 == 0 ? "tenant-a" : "tenant-b"
            handles.append(
                try await engine.enqueue(
                    name: "job", Job(id: "t\(i)", group: group, holdMilliseconds: 60), on: "q",
                    options: EnqueueOptions(partitionKey: group), as: String.self))
        }
        for handle in handles { _ = try await handle.result() }
        #expect(tracker.maximum("tenant-a") == 1 && tracker.maximum("tenant-b") == 1)
        let entries = handles.map { engine.store.index.entry(forWorkflowID: $0.workflowID)! }
        let spans = entries.map { ($0.fields.partitionKey!, $0.fields.startedAt!, $0.fields.updatedAt!) }
        let overlapAcross = spans.contains { a in spans.contains { b in a.0 != b.0 && a.1 < b.2 && b.1 < a.2 } }
        #expect(overlapAcross, "two partitions should run side by side")
        await engine.shutdown()
    }

    @Test("a workflow enqueues a child as a recorded operation; replay does not enqueue it again")
    func enqueueFromWorkflow() async throws {
        let dir = TemporaryDirectory()
        let tracker = ActivityTracker()
        let engine = try makeEngine(dir)
        registerJob(engine, tracker)
        engine.register(name: "parent") { (n: Int, context: WorkflowContext) -> String in
            struct JobWorkflow: Workflow {
                static let name = "job"
                func run(_ input: Job, context: WorkflowContext) async throws -> String {
                    fatalError("registered by closure")
                }
            }
            let child = try await context.enqueue(JobWorkflow.self, Job(id: "child-\(n)"), on: "q")
            return try await child.result()
        }
        engine.register(WorkflowQueue("q"))
        try await engine.launch()
        #expect(try await engine.start(name: "parent", 3, id: "p", as: String.self).result() == "child-3")
        let steps = try await engine.steps(of: "p")
        #expect(steps.map(\.name) == ["job", "DBOS.getResult"])
        #expect(steps[0].childWorkflowID == "p-1")
        #expect(engine.store.index.entry(forWorkflowID: "p-1")?.fields.parentWorkflowID == "p")
        #expect(engine.store.index.entry(forWorkflowID: "p-1")?.fields.queueName == "q")
        await engine.shutdown()
    }

    @Test("hostile queue names and partition keys stay inside the data directory and round-trip")
    func hostileQueueNames() async throws {
        let dir = TemporaryDirectory()
        let tracker = ActivityTracker()
        let engine = try makeEngine(dir)
        registerJob(engine, tracker)
        let names = ["../../escape", "a/b", "üñí", String(repeating: "q", count: 10_000)]
        for name in names { engine.register(WorkflowQueue(name, concurrency: 1)) }
        try await engine.launch()
        for (i, name) in names.enumerated() {
            let handle = try await engine.enqueue(
                name: "job", Job(id: "h\(i)"), on: name, options: EnqueueOptions(partitionKey: "../\(name)"),
                as: String.self)
            #expect(try await handle.result() == "h\(i)")
            #expect(engine.store.index.entry(forWorkflowID: handle.workflowID)?.fields.queueName == name)
        }
        let outside = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0 != "data" }
        #expect(outside.isEmpty, "files escaped the data directory: \(outside)")
        let empty = await #expect(throws: WorkflowError.self) {
            _ = try await engine.enqueue(name: "job", Job(id: "x"), on: "", as: String.self)
        }
        #expect(empty?.code == .invalidArgument)
        await engine.shutdown()
    }

    @Test("a cancelled queued workflow, resumed by the engine, goes back to its queue and runs within its limits")
    func resumeQueued() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        engine.register(name: "waits") { (_: String, context: WorkflowContext) -> String in
            try await context.recv(topic: "go", as: String.self, timeout: .seconds(60)) ?? "timeout"
        }
        engine.register(WorkflowQueue("q", concurrency: 1))
        try await engine.launch()
        let handle = try await engine.enqueue(
            name: "waits", "", on: "q", options: EnqueueOptions(id: "w"), as: String.self)
        #expect(try await eventually { try await engine.status(of: "w") == .pending })
        try await engine.cancel("w")  // CANCELLED at once, or at its next operation if just claimed
        #expect(try await eventually { try await engine.status(of: "w") == .cancelled })
        let resumed = try await engine.resume("w", as: String.self)
        #expect(try await eventually { try await engine.status(of: "w") == .pending })
        #expect(engine.store.index.entry(forWorkflowID: "w")?.fields.queueName == "q")
        try await engine.send(to: "w", topic: "go", "resumed")
        #expect(try await resumed.result() == "resumed")
        #expect(try await handle.result() == "resumed")
        await engine.shutdown()
    }
}
