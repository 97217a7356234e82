import DurableStorage
import Logging
import Synchronization

/// Starts an engine's share of one queue's workflows: whenever the queue changes (an enqueue or
/// a finished workflow in any process), a delay or rate-limit window ends, or a second passes,
/// it asks the store to start what the queue's limits allow this executor, and runs it.
final class QueueDispatcher: Sendable {
    let queue: WorkflowQueue
    private weak let engine: DurableEngine?
    /// Partition key ("" for none) → workflows of this queue running in this process.
    private let running = Locked<[String: Int]>([:])

    init(queue: WorkflowQueue, engine: DurableEngine) {
        self.queue = queue
        self.engine = engine
    }

    /// Dispatches until the task is cancelled.
    func run() async {
        while !Task.isCancelled {
            guard let engine else { return }
            let storage = engine.storage
            let version = await storage.queueVersion(queue.name)
            var wait = Duration.seconds(1)  // a re-check, in case a wake-up was ever lost
            do {
                if let wake = try await dispatch(engine) {
                    let milliseconds = max(0, wake - engine.configuration.clock.nowMilliseconds()) + 1
                    wait = min(wait, .milliseconds(milliseconds))
                }
            } catch {
                engine.logger.error("dequeue failed", metadata: ["queue": "\(queue.name)", "error": "\(error)"])
            }
            await storage.waitForQueue(queue.name, after: version, timeout: wait)
        }
    }

    /// One dequeue round. Returns when to look again at the latest (a delay or rate window ending).
    private func dispatch(_ engine: DurableEngine) async throws -> Int64? {
        let clock = engine.configuration.clock
        let request = DequeueRequest(
            queue: QueueConfiguration(queue), executorID: engine.configuration.executorID,
            applicationVersion: engine.configuration.applicationVersion,
            canRun: { [weak engine] in engine?.registeredWorkflow(named: $0) != nil },
            runningHere: running.withLock { $0 }, now: { clock.nowMilliseconds() })
        let result = try await engine.storage.dequeue(request)
        for (id, error) in result.failed {
            engine.logger.error(
                "starting a queued workflow failed", metadata: ["workflow-id": "\(id)", "error": "\(error)"])
        }
        for claim in result.started {
            do {
                try await run(claim, engine: engine)
            } catch {
                claim.lease.release()
                engine.logger.error(
                    "starting a queued workflow failed",
                    metadata: ["workflow-id": "\(claim.lease.workflowID)", "error": "\(error)"])
            }
        }
        return result.wakeAt
    }

    /// Runs a workflow the store started for this executor (or ends it, if it was started more
    /// often than ``DurableEngine/Configuration/maxRecoveryAttempts`` allows).
    private func run(_ claim: WorkflowClaim, engine: DurableEngine) async throws {
        let lease = claim.lease
        let history = WorkflowHistory(workflowID: lease.workflowID, events: claim.events)
        guard let start = history.start, let workflow = engine.registeredWorkflow(named: start.name) else {
            lease.release()
            return
        }
        let configuration = engine.configuration
        let now = configuration.clock.nowMilliseconds()
        let attempts = history.fields.recoveryAttempts ?? 1
        if attempts > Int64(configuration.maxRecoveryAttempts) {
            let error = PortableError(
                name: "MaxRecoveryAttemptsExceeded",
                message: "the workflow was started \(attempts - 1) times without finishing")
            try await lease.append([.end(.maxRecoveryAttemptsExceeded, output: nil, error: error, at: now)])
            lease.release()
            return
        }
        var prefix: [WorkflowEvent] = []
        if attempts > 1 {
            prefix.append(
                .attempt(AttemptRecord(attempt: Int(attempts), executorID: configuration.executorID, at: now)))
        }
        let partition = history.fields.partitionKey ?? ""
        running.withLock { $0[partition, default: 0] += 1 }
        engine.startExecution(
            workflow, id: lease.workflowID, inputs: history.inputs ?? start.inputs, lease: lease,
            recorded: history.operations, prefix: prefix, cleared: history.clearedControls,
            deadline: history.fields.deadline
        ) {
            self.running.withLock { $0[partition, default: 1] -= 1 }
        }
    }
}
