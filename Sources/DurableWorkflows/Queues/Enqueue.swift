import DurableStorage
import FoundationEssentials

/// A request to enqueue one workflow, as the engine, a workflow, ``DurableClient`` and
/// `durable enqueue` all make it.
struct EnqueueRequest: Sendable {
    var workflowName: String
    /// DBOS `portable_json` input envelope.
    var inputs: String
    var queueName: String
    var options: EnqueueOptions
    var executorID: String
    var parentWorkflowID: String?
    /// Fields a debouncer sets (``IndexFields/isDebounced``, ``IndexFields/debounceDeadline``).
    var debounceDeadline: Int64?
    var isDebounced = false
}

extension WorkflowStore {
    /// Enqueues a workflow: creates it as `ENQUEUED` (or `DELAYED`) in its queue, which gives it
    /// the queue's next sequence number and wakes the queue's executors in every process.
    ///
    /// - Returns: the workflow ID, and whether this call created it (false: the ID existed, or a
    ///   live workflow held the deduplication ID and `onDuplicate` is `.returnExisting`).
    func enqueueWorkflow(_ request: EnqueueRequest, now: Int64) async throws -> (id: String, created: Bool) {
        let options = request.options
        let id = options.id ?? UUID().uuidString.lowercased()
        try WorkflowJSON.checkedName(id, what: "a workflow ID", allowsEmpty: false)
        try WorkflowJSON.checkedName(request.queueName, what: "a queue name", allowsEmpty: false)
        try WorkflowJSON.checkedName(options.partitionKey, what: "a partition key", allowsEmpty: false)
        try WorkflowJSON.checkedName(options.deduplicationID, what: "a deduplication ID", allowsEmpty: false)
        if let priority = options.priority, !(1...Int(Int32.max)).contains(priority) {
            throw WorkflowError(
                "a queue priority must be between 1 and \(Int32.max) (got \(priority))", workflowID: id,
                code: .invalidArgument)
        }
        let delayUntil = options.delay.map { now + $0.milliseconds }
        var fields = WorkflowFields()
        fields.name = request.workflowName
        fields.status = (delayUntil ?? 0) > now ? .delayed : .enqueued
        fields.queueName = request.queueName
        fields.applicationVersion = options.applicationVersion
        fields.createdAt = now
        fields.updatedAt = now
        fields.recoveryAttempts = 0
        fields.priority = options.priority.map(Int64.init)
        fields.deduplicationID = options.deduplicationID
        fields.partitionKey = options.partitionKey
        fields.delayUntil = delayUntil
        fields.timeoutMilliseconds = options.timeout?.milliseconds
        fields.parentWorkflowID = request.parentWorkflowID
        if request.isDebounced { fields.isDebounced = true }
        fields.debounceDeadline = request.debounceDeadline
        let start = StartRecord(
            name: request.workflowName, inputs: request.inputs, applicationVersion: options.applicationVersion ?? "",
            executorID: request.executorID, createdAt: now)
        switch try await enqueue(id, fields: fields, events: [.started(start)]) {
        case .created: return (id, true)
        case .exists:
            try await requireWorkflow(id, isNamed: request.workflowName)
            return (id, false)
        case .deduplicated(let holder):
            guard options.onDuplicate == .returnExisting else {
                throw QueueDeduplicatedError(
                    queueName: request.queueName, deduplicationID: options.deduplicationID ?? "",
                    existingWorkflowID: holder)
            }
            return (holder, false)
        }
    }

    /// Throws ``ConflictingWorkflowError`` if workflow `id` exists under another name (nothing if
    /// it does not exist, or its name is unreadable: a damaged workflow is reported elsewhere).
    func requireWorkflow(_ id: String, isNamed name: String) async throws {
        if let existing = (try? await fields(of: id))??.name, existing != name {
            throw ConflictingWorkflowError(workflowID: id, existingName: existing, requestedName: name)
        }
    }
}
