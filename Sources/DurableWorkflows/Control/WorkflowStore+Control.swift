import DurableStorage
import FoundationEssentials

/// Operator actions on workflows (cancel, resume, fork, send), built on the storage protocol, so
/// that an engine, a client and the `durable` tool do the same thing on any backend.
extension WorkflowStore {
    /// The IDs of pending cancel requests for workflow `id` (those not cleared by a resume).
    func pendingCancellations(of id: String, cleared: Set<String>) async throws -> [String] {
        try await inbox(of: id).compactMap { item in
            guard case .control(let control) = item, control.action == ControlRequest.cancel,
                !cleared.contains(control.id)
            else { return nil }
            return control.id
        }
    }

    /// Requests cancellation of workflow `id` and, if no live executor holds it, records the
    /// cancellation itself (a live owner honours the request at its next operation).
    ///
    /// - Returns: the status after the request: `CANCELLED`, or `PENDING` while the live owner has
    ///   not reached its next operation yet, or the unchanged terminal status.
    func cancelWorkflow(_ id: String, executorID: String, at time: Int64) async throws -> WorkflowStatus {
        let history = WorkflowHistory(workflowID: id, events: try await self.history(of: id))
        if history.status.isTerminal { return history.status }
        let request = ControlRequest(id: UUID().uuidString.lowercased(), action: ControlRequest.cancel, at: time)
        try await deliver(.control(request), to: id)
        guard let claim = try? await claim(id) else { return .pending }  // its live owner will honour it
        defer { claim.lease.release() }
        let current = WorkflowHistory(workflowID: id, events: claim.events)
        if current.status.isTerminal { return current.status }
        try await claim.lease.append([
            .end(.cancelled, output: nil, error: WorkflowCancelledError(workflowID: id).portable, at: time)
        ])
        return .cancelled
    }

    /// The workflows started (or enqueued) by `id`, by their children, and so on, parents first.
    func descendants(of id: String) async throws -> [String] {
        var found: [String] = []
        var frontier = [id]
        var seen: Set<String> = [id]
        while let next = frontier.popLast() {
            var filter = WorkflowFilter()
            filter.parentWorkflowID = next
            for child in try await list(filter) where seen.insert(child.workflowID).inserted {
                found.append(child.workflowID)
                frontier.append(child.workflowID)
            }
        }
        return found
    }

    /// Cancels workflow `id` and, with `includingChildren`, every descendant that has not ended.
    /// Returns `id`'s status after the request.
    func cancelWorkflowTree(
        _ id: String, includingChildren: Bool, executorID: String, at time: Int64
    ) async throws -> WorkflowStatus {
        let status = try await cancelWorkflow(id, executorID: executorID, at: time)
        if includingChildren {
            for child in try await descendants(of: id) {
                _ = try await cancelWorkflow(child, executorID: executorID, at: time)
            }
        }
        return status
    }

    /// Marks a `CANCELLED` or `MAX_RECOVERY_ATTEMPTS_EXCEEDED` workflow `PENDING` again, voiding
    /// earlier cancel requests and resetting its recovery count. Returns the lease (held) and the
    /// workflow's history, so the caller may run it at once.
    ///
    /// With `enqueue`, the workflow goes to its queue (the internal queue if it had none) as
    /// `ENQUEUED` instead, for whichever executor of its version picks it up first.
    func resumeWorkflow(
        _ id: String, executorID: String, at time: Int64, enqueue: Bool = false, rewindingTo cut: Int? = nil
    ) async throws -> (lease: any WorkflowLease, history: WorkflowHistory) {
        let claim = try await claimForResume(id, rewinding: cut != nil)
        var history = WorkflowHistory(workflowID: id, events: claim.events)
        do {
            try Self.checkResumable(history, rewindingTo: cut)
        } catch {
            claim.lease.release()
            throw error
        }
        var change = WorkflowFields()
        change.status = .pending
        change.recoveryAttempts = 1
        change.executorID = executorID
        change.updatedAt = time
        // A debounce no longer replaces the inputs of a workflow that has run.
        if history.fields.isDebounced == true { change.isDebounced = false }
        if enqueue {
            change.status = .enqueued
            change.recoveryAttempts = 0  // the claim counts the first attempt
            if history.fields.queueName == nil { change.queueName = WorkflowQueue.internalQueueName }
        }
        let events: [WorkflowEvent]
        do {
            let controls = try await pendingCancellations(of: id, cleared: [])
            events = [
                .resumed(ResumeRecord(at: time, executorID: executorID, clearedControls: controls, fromStep: cut)),
                .statusChanged(change),
            ]
            try await claim.lease.append(events)
        } catch {
            claim.lease.release()
            throw error
        }
        history.apply(events)
        return (claim.lease, history)
    }

    /// Throws unless `history` may be resumed (`CANCELLED`, `MAX_RECOVERY_ATTEMPTS_EXCEEDED`) or,
    /// with a `cut`, rewound (any ended workflow, to a step from 1 to one past its last).
    private static func checkResumable(_ history: WorkflowHistory, rewindingTo cut: Int?) throws {
        guard let cut else {
            guard history.status == .cancelled || history.status == .maxRecoveryAttemptsExceeded else {
                throw WorkflowError(
                    "only CANCELLED or MAX_RECOVERY_ATTEMPTS_EXCEEDED workflows can be resumed (it is \(history.status))",
                    workflowID: history.workflowID, code: .invalidState)
            }
            return
        }
        guard history.status.isTerminal else {
            throw WorkflowError(
                "only a workflow that has ended can be rewound (it is \(history.status))",
                workflowID: history.workflowID, code: .invalidState)
        }
        let last = history.operations.keys.max() ?? 0
        guard cut >= 1, cut <= last + 1 else {
            throw WorkflowError(
                "cannot rewind to step \(cut): the workflow has steps 1 to \(last)", workflowID: history.workflowID,
                code: .invalidArgument)
        }
    }

    /// Takes the lease on workflow `id` to resume it. An owner that has already recorded the
    /// cancellation (or the exhausted recovery attempts) is only letting go of the lease, which
    /// can take a moment on a busy machine: wait for it, up to `patience`, instead of failing a
    /// resume that follows a cancel (found by CI: `durable resume` right after `durable cancel`).
    private func claimForResume(
        _ id: String, rewinding: Bool, patience: Duration = .seconds(10)
    ) async throws -> WorkflowClaim {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: patience)
        var pause = Duration.milliseconds(2)
        while true {
            if let claim = try await claim(id) { return claim }
            let status = WorkflowHistory(workflowID: id, events: try await history(of: id)).status
            guard status == .cancelled || status == .maxRecoveryAttemptsExceeded || (rewinding && status.isTerminal)
            else {
                throw WorkflowError(
                    "cannot \(rewinding ? "rewind" : "resume"): the workflow is running", workflowID: id,
                    code: .invalidState)
            }
            guard clock.now < deadline else {
                throw WorkflowError(
                    "cannot resume yet: the executor that ran it recorded \(status) but has not let go of it; try again",
                    workflowID: id, code: .invalidState)
            }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(100))
        }
    }

    /// Resumes workflow `id` for an executor to run (the `durable resume` command and clients):
    /// puts it back on its queue (the internal queue if it had none), where the first executor
    /// of its version that knows the workflow starts it, within milliseconds.
    func resumeWorkflowForRecovery(
        _ id: String, executorID: String, at time: Int64, rewindingTo cut: Int? = nil
    ) async throws {
        let (lease, history) = try await resumeWorkflow(
            id, executorID: executorID, at: time, enqueue: true, rewindingTo: cut)
        lease.release()
        try await wake(queue: history.fields.queueName ?? WorkflowQueue.internalQueueName)
    }

    /// Creates a new workflow that starts like `id` but reuses its recorded operations before
    /// position `fromStep` (they are copied and will be replayed, not run again). The new
    /// workflow is `PENDING` (or, with `enqueue`, on the internal queue), records where it was
    /// forked from, and its lease is held by the returned lease.
    func forkWorkflow(
        _ id: String, fromStep: Int, newID: String?, executorID: String, at time: Int64, enqueue: Bool = false
    ) async throws -> (lease: any WorkflowLease, id: String, history: WorkflowHistory) {
        let original = WorkflowHistory(workflowID: id, events: try await history(of: id))
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
        var fields = WorkflowFields()
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
        let forkStart = StartRecord(
            name: start.name, inputs: original.inputs ?? start.inputs, applicationVersion: version,
            executorID: executorID, createdAt: time)
        let events = [WorkflowEvent.started(forkStart)] + copied.keys.sorted().map { .operation(copied[$0]!) }
        guard let lease = try await create(forkID, fields: fields, events: events) else {
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
    /// the first executor of its version that knows the workflow starts. Returns the new ID.
    func forkWorkflowForRecovery(
        _ id: String, fromStep: Int, newID: String? = nil, executorID: String, at time: Int64
    ) async throws -> String {
        let fork = try await forkWorkflow(
            id, fromStep: fromStep, newID: newID, executorID: executorID, at: time, enqueue: true)
        fork.lease.release()
        try await wake(queue: WorkflowQueue.internalQueueName)
        return fork.id
    }

    /// Sends a JSON message to workflow `destination`. Durable when it returns; at most once per
    /// idempotency key.
    func sendMessage(
        to destination: String, topic: String?, json: String, idempotencyKey: String? = nil, at time: Int64
    ) async throws {
        _ = try WorkflowJSON.checkedValue(json, what: "the message")  // refuse malformed JSON before it is stored
        try WorkflowJSON.checkedName(topic, what: "the topic")
        try WorkflowJSON.checkedName(idempotencyKey, what: "the idempotency key")
        try await deliverMessage(
            InboxMessage(id: idempotencyKey ?? UUID().uuidString, topic: topic, value: json, sentAt: time),
            to: destination)
    }

    /// Delivers `message` to `destination`'s inbox (at most once per message ID).
    func deliverMessage(_ message: InboxMessage, to destination: String) async throws {
        do {
            try await deliver(.message(message), to: destination)
        } catch let error as WorkflowStoreError {
            guard error.code == .notFound else { throw error }
            throw WorkflowError("cannot send: no workflow has this ID", workflowID: destination, code: .notFound)
        }
    }

    /// Puts a queued workflow whose executor died back in its queue (`ENQUEUED`), so that it is
    /// started again under the queue's limits rather than recovered outside them.
    func requeueWorkflow(_ id: String, at time: Int64) async throws -> Bool {
        guard let claim = try? await claim(id) else { return false }
        defer { claim.lease.release() }
        let history = WorkflowHistory(workflowID: id, events: claim.events)
        guard history.end == nil, history.status == .pending, let queue = history.fields.queueName else { return false }
        var change = WorkflowFields()
        change.status = .enqueued
        change.updatedAt = time
        try await claim.lease.append([.statusChanged(change)])
        try await wake(queue: queue)
        return true
    }
}
