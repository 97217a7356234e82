import DurableStorage
import FoundationEssentials

/// Drives workflows from a process that does not run them: starts and enqueues them by name,
/// sends messages, reads events, streams and results, cancels, resumes and forks, lists.
///
/// ```swift
/// let client = try DurableClient(directory: "/srv/app/.durable")
/// let handle = try await client.enqueue("send-invoice", invoice, on: "billing", as: Receipt.self)
/// try await client.send(to: handle.workflowID, topic: "approval", true)
/// let receipt = try await handle.result()
/// ```
///
/// A client registers nothing and never runs workflow code: executors (``DurableEngine``s on the
/// same directory, in any process) run what it starts. It is cheap: no threads beyond the
/// store's, no recovery sweep.
public final class DurableClient: WorkflowReading {
    /// Where workflows are recorded.
    public let storage: any WorkflowStore
    /// The identity recorded on what this client writes.
    public let clientID: String
    let clock: any DurableClock

    /// Opens the data directory (created if missing, so a client may start before any executor).
    public convenience init(
        directory: String = ".durable", clientID: String? = nil, clock: any DurableClock = SystemDurableClock()
    ) throws {
        self.init(store: try FileWorkflowStore(directory: directory), clientID: clientID, clock: clock)
    }

    /// A client on `store`, any ``WorkflowStore`` backend.
    public init(store: any WorkflowStore, clientID: String? = nil, clock: any DurableClock = SystemDurableClock()) {
        storage = store
        self.clientID = clientID ?? "client-\(UUID().uuidString.lowercased().prefix(8))"
        self.clock = clock
    }

    // MARK: Starting

    /// Starts the workflow registered (by some executor) as `name`: it is put on the internal
    /// queue, which every executor serves without limits, and runs as soon as one picks it up.
    ///
    /// - Parameter applicationVersion: only executors of this version may run it (`nil`: any).
    public func start<Input: Codable & Sendable, Output: Codable & Sendable>(
        _ name: String, _ input: Input, id: String? = nil, timeout: Duration? = nil, applicationVersion: String? = nil,
        as output: Output.Type = Output.self
    ) async throws -> WorkflowHandle<Output> {
        let options = EnqueueOptions(id: id, timeout: timeout, applicationVersion: applicationVersion)
        return try await enqueue(name, input, on: WorkflowQueue.internalQueueName, options: options, as: output)
    }

    /// Starts workflow `W` (registered by some executor), typed by its input and output.
    public func start<W: Workflow>(
        _ type: W.Type, _ input: W.Input, id: String? = nil, timeout: Duration? = nil,
        applicationVersion: String? = nil
    ) async throws -> WorkflowHandle<W.Output> {
        try await start(
            W.name, input, id: id, timeout: timeout, applicationVersion: applicationVersion, as: W.Output.self)
    }

    /// Enqueues workflow `W` on `queue`, typed by its input and output.
    public func enqueue<W: Workflow>(
        _ type: W.Type, _ input: W.Input, on queue: String, options: EnqueueOptions = EnqueueOptions()
    ) async throws -> WorkflowHandle<W.Output> {
        try await enqueue(W.name, input, on: queue, options: options, as: W.Output.self)
    }

    /// Enqueues the workflow registered (by some executor) as `name` on `queue`.
    ///
    /// - Throws: ``QueueDeduplicatedError`` if `options.deduplicationID` is held by a live
    ///   workflow of the queue (unless `options.onDuplicate` is `.returnExisting`).
    public func enqueue<Input: Codable & Sendable, Output: Codable & Sendable>(
        _ name: String, _ input: Input, on queue: String, options: EnqueueOptions = EnqueueOptions(),
        as output: Output.Type = Output.self
    ) async throws -> WorkflowHandle<Output> {
        let request = EnqueueRequest(
            workflowName: name, inputs: try WorkflowJSON.inputs(input), queueName: queue, options: options,
            executorID: clientID)
        let (id, created) = try await storage.enqueueWorkflow(request, now: clock.nowMilliseconds())
        return WorkflowHandle(workflowID: id, storage: storage, created: created)
    }

    /// Enqueues workflow `name` with `jsonInput` (its input as JSON text, checked) on `queue`;
    /// returns the workflow ID (`durable enqueue`).
    public func enqueue(
        _ name: String, jsonInput: String, on queue: String, options: EnqueueOptions = EnqueueOptions()
    ) async throws -> String {
        _ = try WorkflowJSON.checkedValue(jsonInput, what: "the input")  // refuse malformed JSON before it is stored
        let request = EnqueueRequest(
            workflowName: name, inputs: "{\"namedArgs\":{},\"positionalArgs\":[\(jsonInput)]}", queueName: queue,
            options: options,
            executorID: clientID)
        return try await storage.enqueueWorkflow(request, now: clock.nowMilliseconds()).id
    }

    /// A handle to workflow `id` (its result, its status).
    public func handle<Output: Codable & Sendable>(
        for id: String, as output: Output.Type = Output.self
    ) -> WorkflowHandle<Output> {
        WorkflowHandle(workflowID: id, storage: storage)
    }

    // MARK: Talking to workflows

    /// Sends `value` to workflow `destination` on `topic`; durable when this returns, delivered
    /// at most once per `idempotencyKey`.
    public func send<Value: Encodable & Sendable>(
        to destination: String, topic: String? = nil, _ value: Value, idempotencyKey: String? = nil
    ) async throws {
        try await storage.sendMessage(
            to: destination, topic: topic, json: try WorkflowJSON.encodeText(value), idempotencyKey: idempotencyKey,
            at: clock.nowMilliseconds())
    }

    /// Sends a message given as JSON text to workflow `destination` (the `durable send`
    /// command's form); refused unless `json` is one JSON value.
    public func send(
        to destination: String, topic: String? = nil, json: String, idempotencyKey: String? = nil
    )
        async throws
    {
        try await storage.sendMessage(
            to: destination, topic: topic, json: json, idempotencyKey: idempotencyKey, at: clock.nowMilliseconds())
    }

    // MARK: Control

    /// Cancels workflow `id` (and, with `includingChildren`, its descendants): see
    /// ``DurableEngine/cancel(_:includingChildren:)``.
    @discardableResult
    public func cancel(_ id: String, includingChildren: Bool = false) async throws -> WorkflowStatus {
        try await storage.cancelWorkflowTree(
            id, includingChildren: includingChildren, executorID: clientID, at: clock.nowMilliseconds())
    }

    /// Puts a `CANCELLED` or `MAX_RECOVERY_ATTEMPTS_EXCEEDED` workflow back on its queue (the
    /// internal queue if it had none); an executor of its version resumes it from its last
    /// completed step.
    public func resume(_ id: String) async throws {
        try await storage.resumeWorkflowForRecovery(id, executorID: clientID, at: clock.nowMilliseconds())
    }

    /// Re-runs workflow `id`, which has ended, from step `step` under the same ID (see
    /// ``DurableEngine/rewind(_:toStep:as:)``): it goes back on its queue (the internal queue if
    /// it had none) as `ENQUEUED`, for an executor of its version to run.
    public func rewind(_ id: String, toStep step: Int = 1) async throws {
        try await storage.resumeWorkflowForRecovery(
            id, executorID: clientID, at: clock.nowMilliseconds(), rewindingTo: step)
    }

    /// Forks workflow `id` from step `fromStep` into a new workflow on the internal queue, which
    /// an executor of its version starts; returns its handle.
    public func fork<Output: Codable & Sendable>(
        _ id: String, fromStep: Int, newID: String? = nil, as output: Output.Type = Output.self
    ) async throws -> WorkflowHandle<Output> {
        let forkID = try await storage.forkWorkflowForRecovery(
            id, fromStep: fromStep, newID: newID, executorID: clientID, at: clock.nowMilliseconds())
        return WorkflowHandle(workflowID: forkID, storage: storage)
    }
}
