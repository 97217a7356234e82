import DurableLog
import DurableTesting
import DurableWorkflows
import Foundation
import Testing

/// Replays a queue worker ledger ("B id pid", "E id pid", "K pid" lines, in the order they
/// reached the shared file) and checks the limits at every instant.
struct QueueLedger {
    var maximumGlobal = 0
    var maximumPerProcess = 0
    /// Completions (E lines) per workflow by processes that were not killed at the time.
    var completions: [String: Int] = [:]
    var begins: [String: Int] = [:]
    var killed: Set<String> = []
    /// The processes that completed steps.
    var processes: Set<String> = []
    /// Per group (the part of a workflow ID before its first "-"), the most that ran at once.
    var maximumPerGroup: [String: Int] = [:]
    /// Whether steps of different groups ever ran at the same time.
    var groupsOverlapped = false
    /// Workflow IDs in the order their steps began.
    var order: [String] = []

    init(_ text: String) {
        var open: [String: Set<String>] = [:]  // pid → workflows mid-step
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ").map(String.init)
            switch parts.first {
            case "K":
                // The process dies right after this line; its steps in progress end with it.
                killed.insert(parts[1])
                open[parts[1]] = nil
            case "B" where !killed.contains(parts[2]):
                open[parts[2], default: []].insert(parts[1])
                begins[parts[1], default: 0] += 1
            case "E" where !killed.contains(parts[2]):
                open[parts[2]]?.remove(parts[1])
                completions[parts[1], default: 0] += 1
                processes.insert(parts[2])
            default: continue
            }
            if parts.first == "B" { order.append(parts[1]) }
            let running = open.values.flatMap { $0 }
            var groups: [String: Int] = [:]
            for id in running { groups[String(id.split(separator: "-").first ?? ""), default: 0] += 1 }
            for (group, count) in groups { maximumPerGroup[group] = max(maximumPerGroup[group] ?? 0, count) }
            if groups.count > 1 { groupsOverlapped = true }
            maximumGlobal = max(maximumGlobal, open.values.reduce(0) { $0 + $1.count })
            maximumPerProcess = max(maximumPerProcess, open.values.map(\.count).max() ?? 0)
        }
    }
}

@Suite("Queues across processes", .timeLimit(.minutes(10)))
struct QueueProcessTests {
    @Test(
        "three processes drain 2,000 workflows within global concurrency 4 and worker concurrency 2; a SIGKILLed worker's workflows are finished by the others"
    )
    func threeProcessesDrainAQueue() async throws {
        let dir = TemporaryDirectory()
        let ledger = dir.path + "/ledger"
        let total = 2000
        let arguments = ["queue-worker", dir.data, ledger, "drain", "4", "2"]
        let environment = ["STEP_SLEEP_MS": "1"]
        var workers = [
            try ChildProcess("DurableTestHelper", arguments, environment: environment),
            try ChildProcess("DurableTestHelper", arguments, environment: environment),
            try ChildProcess(
                "DurableTestHelper", arguments, environment: environment.merging(["KILL_AFTER": "150"]) { $1 }),
        ]
        defer { for worker in workers { worker.kill() } }
        for worker in workers { #expect(worker.firstLine() == "ready") }
        // Enqueue from this (fourth) process while the workers already drain.
        let client = try DurableEngine(directory: dir.data, configuration: .init(applicationVersion: "queue-test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<8 {
                group.addTask {
                    for i in stride(from: lane, to: total, by: 8) {
                        _ = try await client.enqueue(
                            name: "ledger-job", "w\(i)", on: "drain", options: EnqueueOptions(id: "w\(i)"),
                            as: String.self)
                    }
                }
            }
            try await group.waitForAll()
        }
        // The killed worker is replaced, as a supervisor would, once it is gone.
        let killed = workers[2]
        #expect(killed.wait().killedBySignal)
        workers.append(try ChildProcess("DurableTestHelper", arguments, environment: environment))
        let deadline = ContinuousClock.now + .seconds(240)
        var done = 0
        while ContinuousClock.now < deadline {
            try client.store.index.refresh()
            done = client.store.index.entries { $0.fields.queueName == "drain" && $0.status == .success }.count
            if done == total { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(done == total)
        let result = QueueLedger(try String(contentsOfFile: ledger, encoding: .utf8))
        #expect(result.killed.count == 1)
        #expect(result.maximumGlobal <= 4, "global concurrency exceeded: \(result.maximumGlobal)")
        #expect(result.processes.count >= 3, "the work should be shared by the workers: \(result.processes)")
        #expect(result.maximumPerProcess <= 2, "worker concurrency exceeded: \(result.maximumPerProcess)")
        let twice = result.completions.filter { $0.value > 1 }
        #expect(twice.isEmpty, "steps completed more than once by live processes: \(twice.keys.sorted().prefix(5))")
        for i in 0..<total {
            let id = "w\(i)"
            let history = try WorkflowHistory(client.store.readLog(name: id))
            #expect(history.status == .success && history.output == "\"done-\(id)\"", "\(id): \(history.status)")
        }
        let rerun = result.begins.filter { $0.value > 1 }.count
        #expect(rerun >= 1, "the killed worker's workflows in progress should have run again elsewhere")
        await client.shutdown()
        try await expectHelperLogsReplayCleanly(dir)
    }

    /// Two worker processes serving queue `name` with the given limits (0: none).
    func workers(
        _ dir: TemporaryDirectory, _ name: String, concurrency: Int, worker: Int, environment: [String: String] = [:]
    ) throws -> [ChildProcess] {
        let processes = try (0..<2).map { _ in
            try ChildProcess(
                "DurableTestHelper",
                ["queue-worker", dir.data, dir.path + "/ledger", name, "\(concurrency)", "\(worker)"],
                environment: environment)
        }
        for process in processes { #expect(process.firstLine() == "ready") }
        return processes
    }

    func results(_ client: DurableClient, _ ids: [String]) async throws {
        for id in ids { #expect(try await client.handle(for: id, as: String.self).result() == "done-\(id)") }
    }

    @Test("rate limit across processes: no window of the period holds more starts than the limit")
    func rateLimitAcrossProcesses() async throws {
        let dir = TemporaryDirectory()
        let workers = try workers(dir, "rated", concurrency: 0, worker: 0, environment: ["RATE_LIMIT": "3/400"])
        defer { for worker in workers { worker.kill() } }
        let client = try DurableClient(directory: dir.data)
        let ids = (0..<9).map { "r-\($0)" }
        for id in ids {
            _ = try await client.enqueue(
                "ledger-job", id, on: "rated", options: EnqueueOptions(id: id), as: String.self)
        }
        try await results(client, ids)
        try client.store.index.refresh()
        let starts = ids.map { client.store.index.entry(forWorkflowID: $0)!.fields.startedAt! }.sorted()
        for (i, start) in starts.enumerated() {
            #expect(starts[i...].prefix { $0 < start + 400 }.count <= 3, "more than 3 starts within 400 ms of \(start)")
        }
        #expect(starts.last! - starts.first! >= 800)
    }

    @Test("priority across processes: with one slot, workflows start in priority order, FIFO among equals")
    func priorityAcrossProcesses() async throws {
        let dir = TemporaryDirectory()
        let client = try DurableClient(directory: dir.data)
        let plan: [(String, Int?)] = [
            ("p-7", 7), ("p-none1", nil), ("p-2a", 2), ("p-9", 9), ("p-2b", 2), ("p-none2", nil), ("p-1", 1),
        ]
        for (id, priority) in plan {
            _ = try await client.enqueue(
                "ledger-job", id, on: "prio", options: EnqueueOptions(id: id, priority: priority), as: String.self)
        }
        let workers = try workers(dir, "prio", concurrency: 1, worker: 0)
        defer { for worker in workers { worker.kill() } }
        try await results(client, plan.map(\.0))
        let ledger = QueueLedger(try String(contentsOfFile: dir.path + "/ledger", encoding: .utf8))
        #expect(ledger.order == ["p-none1", "p-none2", "p-1", "p-2a", "p-2b", "p-7", "p-9"])
        #expect(ledger.maximumGlobal == 1)
    }

    @Test("partitions across processes: each partition key has its own global limit")
    func partitionsAcrossProcesses() async throws {
        let dir = TemporaryDirectory()
        let workers = try workers(dir, "parts", concurrency: 1, worker: 0, environment: ["AWAIT_OTHER_GROUP": "1"])
        defer { for worker in workers { worker.kill() } }
        let client = try DurableClient(directory: dir.data)
        var ids: [String] = []
        for i in 0..<8 {
            let partition = i % 2 == 0 ? "a" : "b"
            let id = "\(partition)-\(i)"
            ids.append(id)
            _ = try await client.enqueue(
                "ledger-job", id, on: "parts", options: EnqueueOptions(id: id, partitionKey: partition), as: String.self
            )
        }
        try await results(client, ids)
        let ledger = QueueLedger(try String(contentsOfFile: dir.path + "/ledger", encoding: .utf8))
        #expect(ledger.maximumPerGroup["a"] == 1 && ledger.maximumPerGroup["b"] == 1)
        #expect(ledger.groupsOverlapped, "the two partitions should run side by side")
    }

    @Test("deduplication across processes: of two concurrent `durable enqueue`s with one ID, exactly one wins")
    func deduplicationAcrossProcesses() async throws {
        let dir = TemporaryDirectory()
        let client = try DurableClient(directory: dir.data)
        for round in 0..<5 {
            let enqueues = try (0..<2).map { i in
                try ChildProcess(
                    "durable",
                    [
                        "enqueue", "dedup", "ledger-job", "\"x\(round)-\(i)\"", "--deduplication-id", "key-\(round)",
                        "--dir", dir.data,
                    ])
            }
            let statuses = enqueues.map { $0.wait().status }
            #expect(
                statuses.sorted() == [0, 4],
                "round \(round): exit statuses \(statuses) (4: the deduplication ID is taken)")
        }
        try client.store.index.refresh()
        let waiting = client.store.index.waitingEntries(inQueue: "dedup")
        #expect(waiting.count == 5 && Set(waiting.compactMap(\.fields.deduplicationID)).count == 5)
    }

    @Test("delayed start across processes: DELAYED until due, then started by a worker in another process")
    func delayedAcrossProcesses() async throws {
        let dir = TemporaryDirectory()
        let workers = try workers(dir, "later", concurrency: 0, worker: 0)
        defer { for worker in workers { worker.kill() } }
        let client = try DurableClient(directory: dir.data)
        let handle = try await client.enqueue(
            "ledger-job", "d-1", on: "later", options: EnqueueOptions(id: "d-1", delay: .milliseconds(1500)),
            as: String.self)
        #expect(try initialStatus(client.store, "d-1") == .delayed)
        #expect(try await handle.result() == "done-d-1")
        try client.store.index.refresh()
        let fields = try #require(client.store.index.entry(forWorkflowID: "d-1")?.fields)
        let started = try #require(fields.startedAt)
        #expect(started - (fields.createdAt ?? .max) >= 1500)
    }

    @Test("damaged or missing queue counter files are detected and rebuilt from the index; nothing is lost")
    func damagedQueueStateRebuilt() async throws {
        let dir = TemporaryDirectory()
        let client = try DurableClient(directory: dir.data)
        for i in 0..<3 {
            _ = try await client.enqueue(
                "ledger-job", "s-\(i)", on: "state", options: EnqueueOptions(id: "s-\(i)"), as: String.self)
        }
        let queueDirectory = try client.store.queueFiles(named: "state").directory
        // Corrupt the sequence file; a new process must not reuse sequence numbers.
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: queueDirectory + "/seq"))
        let other = try DurableClient(directory: dir.data)
        _ = try await other.enqueue(
            "ledger-job", "s-3", on: "state", options: EnqueueOptions(id: "s-3"), as: String.self)
        try other.store.index.refresh()
        let sequences = (0..<4).map { other.store.index.entry(forWorkflowID: "s-\($0)")!.fields.enqueueSequence! }
        #expect(Set(sequences).count == 4 && sequences.last! > sequences.dropLast().max()!)
        // A truncated rate window is rebuilt from the index's start times.
        let workers = try workers(dir, "state", concurrency: 0, worker: 0, environment: ["RATE_LIMIT": "2/60000"])
        defer { for worker in workers { worker.kill() } }
        #expect(try await eventually { try await other.listWorkflows().filter { $0.status == .success }.count == 2 })
        let rate = queueDirectory + "/rate"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: rate))
        try bytes.prefix(bytes.count - 4).write(to: URL(fileURLWithPath: rate))
        try await other.storage.wake(queue: "state")
        try await Task.sleep(for: .milliseconds(500))
        // The window still holds the two starts of this minute: the other two keep waiting.
        #expect(try await other.listWorkflows().filter { $0.status == .success }.count == 2)
        #expect(other.store.index.waitingEntries(inQueue: "state").count == 2)
    }

    @Test("shutdown does not wait for another process to release the queue lock", .timeLimit(.minutes(3)))
    func shutdownDoesNotHangBehindAQueueLock() async throws {
        let dir = TemporaryDirectory()
        let client = try DurableClient(directory: dir.data)
        _ = try await client.enqueue("job", jsonInput: "1", on: "busy-q")
        let holder = try ChildProcess("DurableTestHelper", ["hold-queue-lock", dir.data, "busy-q"])
        defer { holder.kill() }
        #expect(holder.firstLine() == "held")
        let engine = try makeEngine(dir)
        engine.register(name: "job") { (n: Int, _: WorkflowContext) -> Int in n }
        engine.register(WorkflowQueue("busy-q", concurrency: 1))
        try await engine.launch()
        try await Task.sleep(for: .milliseconds(300))  // the dispatcher is waiting for the lock by now
        let start = ContinuousClock.now
        await engine.shutdown()
        #expect(ContinuousClock.now - start < .seconds(3), "shutdown took \(ContinuousClock.now - start)")
    }
}
