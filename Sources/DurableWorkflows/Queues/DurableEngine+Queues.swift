import DurableStorage
import FoundationEssentials

extension QueueConfiguration {
    /// The limits `queue` declares.
    init(_ queue: WorkflowQueue, workflowNames: [String]? = nil) {
        self.init(
            name: queue.name, concurrency: queue.concurrency, workerConcurrency: queue.workerConcurrency,
            rateLimit: queue.rateLimit?.limit, rateLimitPeriodMilliseconds: queue.rateLimit?.period.milliseconds,
            workflowNames: workflowNames)
    }
}

extension DurableEngine {
    /// Enqueues `W` on `queue` and returns its handle. The workflow waits as `ENQUEUED` (or
    /// `DELAYED`) until an executor that registered the queue, in any process, has room for it.
    ///
    /// - Throws: ``QueueDeduplicatedError`` if `options.deduplicationID` is held by a live
    ///   workflow of the queue (unless `options.onDuplicate` is `.returnExisting`).
    public func enqueue<W: Workflow>(
        _ type: W.Type, _ input: W.Input, on queue: String, options: EnqueueOptions = EnqueueOptions()
    ) async throws -> WorkflowHandle<W.Output> {
        try await enqueue(name: W.name, input, on: queue, options: options, as: W.Output.self)
    }

    /// Enqueues `W` on `queue` (see ``enqueue(_:_:on:options:)-(_,_,String,_)``).
    public func enqueue<W: Workflow>(
        _ type: W.Type, _ input: W.Input, on queue: WorkflowQueue, options: EnqueueOptions = EnqueueOptions()
    ) async throws -> WorkflowHandle<W.Output> {
        try await enqueue(name: W.name, input, on: queue.name, options: options, as: W.Output.self)
    }

    /// Enqueues the workflow registered (in some process) as `name`.
    public func enqueue<Input: Codable & Sendable, Output: Codable & Sendable>(
        name: String, _ input: Input, on queue: String, options: EnqueueOptions = EnqueueOptions(),
        as output: Output.Type = Output.self
    ) async throws -> WorkflowHandle<Output> {
        let request = EnqueueRequest(
            workflowName: name, inputs: try WorkflowJSON.inputs(input), queueName: queue, options: options,
            executorID: configuration.executorID)
        let (id, created) = try await storage.enqueueWorkflow(request, now: configuration.clock.nowMilliseconds())
        return WorkflowHandle(workflowID: id, engine: self, created: created)
    }
}

extension WorkflowContext {
    /// Enqueues `W` on `queue` as a child of this workflow, as a recorded operation named after
    /// the child workflow (as DBOS records it). The child's ID defaults to `<parent-id>-<position>`,
    /// so a replayed parent finds the same child instead of enqueueing another.
    public func enqueue<W: Workflow>(
        _ type: W.Type, _ input: W.Input, on queue: String, options: EnqueueOptions = EnqueueOptions()
    ) async throws -> ChildWorkflowHandle<W.Output> {
        guard let engine else {
            throw WorkflowError("this context has no engine", workflowID: workflowID, code: .notServing)
        }
        var options = options
        let childID = options.id ?? "\(workflowID)-\(nextPosition)"
        options.id = childID
        let inputs = try WorkflowJSON.inputs(input)
        let request = EnqueueRequest(
            workflowName: W.name, inputs: inputs, queueName: queue, options: options,
            executorID: engine.configuration.executorID,
            parentWorkflowID: workflowID)
        let now = clock.nowMilliseconds()
        _ = try await operation(kind: "child", name: W.name, retry: .none, childWorkflowID: childID) {
            _ = try await engine.storage.enqueueWorkflow(request, now: now)
            return "null"
        }
        return ChildWorkflowHandle(workflowID: childID, parent: self)
    }
}
