#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DurableWorkflows
import Logging

/// W3: 2,000 enqueued 3-step workflows drained by worker processes (worker concurrency 8), and
/// the enqueue→start latency of a queue with free slots.
enum QueueWorkloads {
    static let queue = "w3"

    /// W3 worker: serves queue "w3" with worker concurrency 8 until killed.
    static func worker(directory: String) async throws -> Never {
        let engine = try WorkflowWorkloads.engine(directory)
        engine.register(WorkflowQueue(queue, workerConcurrency: 8))
        try await engine.launch()
        print("ready")
        fflush(stdout)
        while true { try await Task.sleep(for: .seconds(3600)) }
    }

    /// Drains `count` workflows enqueued at once with `processes` workers. Returns throughput
    /// (enqueue of the first to end of the last) and each workflow's enqueue→start time.
    static func drain(directory: String, processes: Int, count: Int) async throws -> Measurement {
        let workers = try (0..<processes).map { _ in try SelfProcess.spawn(["--w3-worker", directory]) }
        defer { for worker in workers { worker.kill() } }
        for worker in workers {
            guard worker.readLine() == "ready" else { throw WorkflowError("a W3 worker did not get ready") }
        }
        var logger = Logger(label: "w3")
        logger.logLevel = .error
        let client = DurableClient(store: try BenchStore.open(directory))
        let start = nowNanos()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<8 {
                group.addTask {
                    for i in stride(from: lane, to: count, by: 8) {
                        _ = try await client.enqueue(
                            ThreeSteps.name, i, on: queue, options: EnqueueOptions(id: "w3-\(i)"),
                            as: ThreeSteps.Done.self)
                    }
                }
            }
            try await group.waitForAll()
        }
        for i in 0..<count { _ = try await client.handle(for: "w3-\(i)", as: ThreeSteps.Done.self).result() }
        let seconds = Double(nowNanos() - start) / 1e9
        var latencies: [Double] = []
        for i in 0..<count {
            guard let fields = try await client.storage.fields(of: "w3-\(i)"), let started = fields.startedAt,
                let created = fields.createdAt
            else { continue }
            latencies.append(Double(started - created) * 1000)
        }
        return Measurement(count: count, seconds: seconds, latenciesMicros: latencies)
    }

    /// Enqueue→start of one workflow at a time on an idle queue served by another process
    /// (wall-clock ms resolution of the recorded times; measured here in µs around the calls).
    static func idleLatency(directory: String, samples: Int) async throws -> Measurement {
        let worker = try SelfProcess.spawn(["--w3-worker", directory])
        defer { worker.kill() }
        guard worker.readLine() == "ready" else { throw WorkflowError("a W3 worker did not get ready") }
        let client = DurableClient(store: try BenchStore.open(directory))
        var latencies: [Double] = []
        let start = nowNanos()
        for i in 0..<samples {
            let id = "idle-\(i)"
            let handle = try await client.enqueue(
                ThreeSteps.name, i, on: queue, options: EnqueueOptions(id: id), as: ThreeSteps.Done.self)
            let enqueued = nowNanos()
            // Started = its history gains the claim; follow it rather than poll the listing.
            let follower = try await client.storage.follow(id)
            var events: [WorkflowEvent] = []
            while true {
                events += try await follower.read().elements
                if WorkflowHistory(workflowID: id, events: events).status != .enqueued { break }
                await follower.waitForAppend(timeout: .milliseconds(100))
            }
            latencies.append(Double(nowNanos() - enqueued) / 1000)
            _ = try await handle.result()
        }
        return Measurement(count: samples, seconds: Double(nowNanos() - start) / 1e9, latenciesMicros: latencies)
    }
}
