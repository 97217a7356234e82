import DurableStorage
import FoundationEssentials

/// Runs a workflow once a burst of calls has settled: each ``debounce(key:period:_:)`` pushes the
/// start back to `period` after the latest call (but never beyond `maxWait` after the first),
/// and the workflow runs once, with the latest input.
///
/// ```swift
/// let reindex = Debouncer(Reindex.self, engine: engine, maxWait: .seconds(60))
/// // On every edit; the document is reindexed 5 s after the last edit, at most 60 s after the first.
/// try await reindex.debounce(key: document.id, period: .seconds(5), document.id)
/// ```
///
/// It is durable and works across processes: the pending run is a `DELAYED` workflow on a queue
/// (the internal queue unless another is given), holding the deduplication ID
/// `<workflow-name>-<key>` until it starts; a debounce that finds it replaces its input and
/// moves its start time. Once it has started, the next debounce for the key begins a new one.
public struct Debouncer<Input: Codable & Sendable, Output: Codable & Sendable>: Sendable {
    /// The debounced workflow's name.
    public let workflowName: String
    /// The longest a run may be pushed back after the first debounce of a burst (`nil`: no limit).
    public let maxWait: Duration?
    /// The queue the workflow runs on.
    public let queueName: String
    private let storage: any WorkflowStore
    private let clock: any DurableClock
    private let executorID: String
    private let engine: DurableEngine?

    /// Debounces `W`, run by `engine` (or any executor on its directory).
    public init<W: Workflow>(
        _ type: W.Type, engine: DurableEngine, maxWait: Duration? = nil, queue: String = WorkflowQueue.internalQueueName
    )
    where W.Input == Input, W.Output == Output {
        self.init(name: W.name, engine: engine, maxWait: maxWait, queue: queue)
    }

    /// Debounces the workflow registered as `name` (for closure-registered workflows).
    public init(
        name: String, engine: DurableEngine, maxWait: Duration? = nil, queue: String = WorkflowQueue.internalQueueName
    ) {
        self.init(
            name: name, storage: engine.storage, clock: engine.configuration.clock,
            executorID: engine.configuration.executorID, engine: engine, maxWait: maxWait, queue: queue)
    }

    /// Debounces the workflow registered (by some executor) as `name`, from a client.
    public init(
        name: String, client: DurableClient, maxWait: Duration? = nil, queue: String = WorkflowQueue.internalQueueName
    ) {
        self.init(
            name: name, storage: client.storage, clock: client.clock, executorID: client.clientID, engine: nil,
            maxWait: maxWait, queue: queue)
    }

    private init(
        name: String, storage: any WorkflowStore, clock: any DurableClock, executorID: String, engine: DurableEngine?,
        maxWait: Duration?, queue: String
    ) {
        workflowName = name
        self.maxWait = maxWait
        queueName = queue
        self.storage = storage
        self.clock = clock
        self.executorID = executorID
        self.engine = engine
    }

    /// Schedules a run for `key` `period` from now with `input`, replacing the input and start
    /// time of a run for `key` that has not started yet. Returns the handle of that run.
    public func debounce(key: String, period: Duration, _ input: Input) async throws -> WorkflowHandle<Output> {
        let inputs = try WorkflowJSON.inputs(input)
        let deduplicationID = "\(workflowName)-\(key)"
        while true {
            let now = clock.nowMilliseconds()
            let deadline = maxWait.map { now + $0.milliseconds }
            let startAt = min(now + period.milliseconds, deadline ?? Int64.max)
            let request = EnqueueRequest(
                workflowName: workflowName, inputs: inputs, queueName: queueName,
                options: EnqueueOptions(deduplicationID: deduplicationID, delay: .milliseconds(startAt - now)),
                executorID: executorID,
                debounceDeadline: deadline, isDebounced: true)
            let holder: QueueDeduplicatedError
            do {
                return handle(try await storage.enqueueWorkflow(request, now: now).id)
            } catch let error as QueueDeduplicatedError {
                holder = error
            }
            switch try await storage.postponeDebounced(
                holder.existingWorkflowID, inputs: inputs, period: period, now: now)
            {
            case .postponed: return handle(holder.existingWorkflowID)
            case .started: continue  // it began running: start a new one
            case .busy: try await Task.sleep(for: .milliseconds(1))  // being claimed right now
            case .notDebounced: throw holder  // the caller's own deduplicated workflow holds the ID
            }
        }
    }

    private func handle(_ id: String) -> WorkflowHandle<Output> {
        if let engine { return WorkflowHandle(workflowID: id, engine: engine) }
        return WorkflowHandle(workflowID: id, storage: storage)
    }
}

/// What a debounce found when it tried to postpone a pending run.
enum PostponeOutcome: Sendable {
    case postponed, started, busy, notDebounced
}

extension WorkflowStore {
    /// Replaces the inputs of debounced workflow `id` and moves its start to `period` from `now`
    /// (capped by its debounce deadline), if it has not started.
    func postponeDebounced(_ id: String, inputs: String, period: Duration, now: Int64) async throws -> PostponeOutcome {
        guard let claim = try await claim(id) else { return .busy }
        defer { claim.lease.release() }
        let history = WorkflowHistory(workflowID: id, events: claim.events)
        guard history.fields.isDebounced == true else { return .notDebounced }
        guard history.end == nil, history.status == .delayed || history.status == .enqueued else {
            return .started  // claiming it brought the index up to date, so its deduplication ID is seen as free
        }
        let startAt = min(now + period.milliseconds, history.fields.debounceDeadline ?? Int64.max)
        var change = WorkflowFields()
        change.delayUntil = startAt
        change.status = startAt > now ? .delayed : .enqueued
        change.updatedAt = now
        try await claim.lease.append([.inputsReplaced(InputsRecord(inputs: inputs, at: now)), .statusChanged(change)])
        if let queue = history.fields.queueName { try await wake(queue: queue) }
        return .postponed
    }
}
