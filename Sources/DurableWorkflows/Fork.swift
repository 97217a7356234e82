import DurableLog
import FoundationEssentials

extension LogStore {
    /// Creates a new workflow that starts like `id` but reuses its recorded operations before
    /// position `fromStep` (they are copied and will be replayed, not run again). The new
    /// workflow is `PENDING`, records where it was forked from, and its lease is held by the
    /// returned writer. Usable without an engine (`durable fork`).
    func forkWorkflow(
        _ id: String, fromStep: Int, newID: String?, executorID: String, at time: Int64, enqueue: Bool = false
    ) async throws
        -> (lease: FileWorkflowLease, id: String, history: WorkflowHistory)
    {
        let original = try WorkflowHistory(await read(name: id))
        guard let start = original.start else {
            throw WorkflowError(
                "cannot fork: the workflow's START record is missing", workflowID: id, code: .unreadableRecord)
        }
        let last = original.operations.keys.max() ?? 0
        guard fromStep >= 1, fromStep <= last + 1 else {
            throw WorkflowError(
                "cannot fork from step \(fromStep): the workflow has steps 1 to \(last)", workflowID: id,
                code: .invalidArgument)
        }
        let forkID = newID ?? UUID().uuidString.lowercased()
        // The version that ran it (a client's unpinned START records none).
        let version = original.fields.applicationVersion.flatMap { $0.isEmpty ? nil : $0 } ?? start.applicationVersion
        var fields = IndexFields()
        fields.name = start.name
        fields.status = .pending
        fields.applicationVersion = version
        fields.executorID = executorID
        fields.createdAt = time
        fields.updatedAt = time
        fields.recoveryAttempts = 1
        fields.forkedFrom = id
        if enqueue {
            fields.status = .enqueued
            fields.queueName = WorkflowQueue.internalQueueName
            fields.recoveryAttempts = 0
        }
        let copied = original.operations.filter { $0.key < fromStep }
        let events: [WorkflowEvent] =
            [
                .started(
                    StartRecord(
                        name: start.name, inputs: original.inputs ?? start.inputs, applicationVersion: version,
                        executorID: executorID, createdAt: time))
            ] + copied.keys.sorted().map { .operation(copied[$0]!) }
        guard let lease = try await createWorkflow(forkID, fields: fields, events: events) else {
            throw WorkflowError("cannot fork: a workflow with this ID exists", workflowID: forkID, code: .alreadyExists)
        }
        var history = original
        history.workflowID = forkID
        history.operations = copied
        history.end = nil
        history.fields = fields
        return (lease, forkID, history)
    }

    /// Forks workflow `id` from step `fromStep` into a new workflow on the internal queue, which
    /// the first executor of its version that knows the workflow starts (the `durable fork`
    /// command and clients). Returns the new workflow's ID.
    public func forkWorkflowForRecovery(
        _ id: String, fromStep: Int, newID: String? = nil, executorID: String, at time: Int64
    ) async throws -> String {
        let fork = try await forkWorkflow(
            id, fromStep: fromStep, newID: newID, executorID: executorID, at: time, enqueue: true)
        fork.lease.release()
        try queueFiles(named: WorkflowQueue.internalQueueName).ring()
        return fork.id
    }
}

extension DurableEngine {
    /// Starts a new workflow from step `fromStep` of workflow `id`: the same workflow and input,
    /// with the recorded results of the steps before `fromStep` reused (replayed, not run again)
    /// and every later step run anew. The new workflow records that it was forked from `id`.
    ///
    /// Use it to repair a workflow that failed or stopped (for example on non-determinism) once
    /// the code is fixed, or to re-run the tail of a workflow.
    public func fork<Output: Codable & Sendable>(
        _ id: String, fromStep: Int, newID: String? = nil, as output: Output.Type = Output.self
    ) async throws -> WorkflowHandle<Output> {
        let fork = try await store.forkWorkflow(
            id, fromStep: fromStep, newID: newID, executorID: configuration.executorID,
            at: configuration.clock.nowMilliseconds())
        guard let start = fork.history.start, let workflow = registeredWorkflow(named: start.name),
            [nil, "", configuration.applicationVersion].contains(fork.history.fields.applicationVersion)
        else {
            fork.lease.release()  // left PENDING for an engine that knows the workflow and version
            return WorkflowHandle(workflowID: fork.id, engine: self)
        }
        startForked(
            workflow, id: fork.id, inputs: start.inputs, lease: fork.lease, recorded: fork.history.operations,
            deadline: nil)
        return WorkflowHandle(workflowID: fork.id, engine: self)
    }
}
