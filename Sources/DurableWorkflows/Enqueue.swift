import DurableLog
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

extension LogStore {
    /// Enqueues a workflow: creates its log as `ENQUEUED` (or `DELAYED`) with the next sequence
    /// number of its queue, and wakes the queue's dequeuers in every process.
    ///
    /// - Returns: the workflow ID, and whether this call created it (false: the ID existed, or a
    ///   live workflow held the deduplication ID and `onDuplicate` is `.returnExisting`).
    func enqueueWorkflow(_ request: EnqueueRequest, now: Int64) async throws -> (id: String, created: Bool) {
        let options = request.options
        let id = options.id ?? UUID().uuidString.lowercased()
        try LogKey.validate(id)
        try LogKey.validate(request.queueName, what: "a queue name")
        if let partition = options.partitionKey { try LogKey.validate(partition, what: "a partition key") }
        if let priority = options.priority, !(1...Int(Int32.max)).contains(priority) {
            throw WorkflowError(
                "a queue priority must be between 1 and \(Int32.max) (got \(priority))", workflowID: id,
                code: .invalidArgument)
        }
        if index.entry(forWorkflowID: id) != nil {
            try await requireWorkflow(id, isNamed: request.workflowName)
            return (id, false)
        }
        let files = try queueFiles(named: request.queueName)
        let queue = request.queueName
        let index = self.index
        let delayUntil = options.delay.map { now + $0.milliseconds }
        func create(sequence: Int64) async throws -> Bool {
            var fields = IndexFields()
            fields.name = request.workflowName
            fields.status = (delayUntil ?? 0) > now ? .delayed : .enqueued
            fields.queueName = queue
            fields.applicationVersion = options.applicationVersion
            fields.createdAt = now
            fields.updatedAt = now
            fields.recoveryAttempts = 0
            fields.priority = options.priority.map(Int64.init)
            fields.deduplicationID = options.deduplicationID
            fields.partitionKey = options.partitionKey
            fields.delayUntil = delayUntil
            fields.enqueueSequence = sequence
            fields.timeoutMilliseconds = options.timeout?.milliseconds
            fields.parentWorkflowID = request.parentWorkflowID
            if request.isDebounced { fields.isDebounced = true }
            fields.debounceDeadline = request.debounceDeadline
            let start = StartRecord(
                name: request.workflowName, inputs: request.inputs,
                applicationVersion: options.applicationVersion ?? "",
                executorID: request.executorID, createdAt: now)
            guard let lease = try await createWorkflow(id, fields: fields, events: [.started(start)]) else {
                return false
            }
            lease.release()
            return true
        }
        enum Decision: Sendable {
            case existing(String)
            case created(Bool)
            case assigned(sequence: Int64)
        }
        let decision: Decision = try await files.withLock { lock in
            try await refreshIndex()
            if let dedup = options.deduplicationID {
                let holder = index.entries {
                    // (the queue's name is read in place; only its workflows' fields are decoded)
                    $0.queueName == queue && $0.fields.deduplicationID == dedup && !$0.isQuarantined
                        && QueueSelection.holdsDeduplicationID($0)
                }.first
                if let holder {
                    guard options.onDuplicate == .returnExisting else {
                        throw QueueDeduplicatedError(
                            queueName: queue, deduplicationID: dedup, existingWorkflowID: holder.workflowID)
                    }
                    return .existing(holder.workflowID)
                }
            }
            let sequence = try await lock.nextSequence { QueueSelection.nextSequenceFloor(index, queue: queue) }
            // With a deduplication ID the log is created under the lock, so the check above and
            // the creation are one decision; otherwise creating after unlocking keeps enqueues
            // from serialising on each other's fsyncs.
            if options.deduplicationID != nil { return .created(try await create(sequence: sequence)) }
            return .assigned(sequence: sequence)
        }
        let created: Bool
        switch decision {
        case .existing(let holder): return (holder, false)
        case .created(let value): created = value
        case .assigned(let sequence): created = try await create(sequence: sequence)
        }
        if created { files.ring() } else { try await requireWorkflow(id, isNamed: request.workflowName) }
        return (id, created)
    }

    /// Throws ``ConflictingWorkflowError`` if workflow `id` exists under another name (nothing if
    /// it does not exist, or its name is unreadable: a damaged log is reported elsewhere).
    func requireWorkflow(_ id: String, isNamed name: String) async throws {
        var existing = index.entry(forWorkflowID: id)?.name
        if existing == nil { existing = (try? await read(name: id)).flatMap { try? WorkflowHistory($0).start?.name } }
        if let existing, existing != name {
            throw ConflictingWorkflowError(workflowID: id, existingName: existing, requestedName: name)
        }
    }
}
