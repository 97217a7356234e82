import DurableLog
import FoundationEssentials

/// The workflow was cancelled (by ``DurableEngine/cancel(_:)``, `durable cancel`, or another
/// process). Thrown inside the workflow at its next operation, and by `result()`.
public struct WorkflowCancelledError: Error, Sendable, CustomStringConvertible {
    /// The cancelled workflow.
    public var workflowID: String
    /// Whether its deadline passed (rather than someone asking).
    public var deadlinePassed = false
    public var description: String {
        "workflow \"\(workflowID)\" was cancelled" + (deadlinePassed ? " because its deadline passed" : "")
    }
}

extension LogStore {
    /// The IDs of pending cancel requests for workflow `id` (those not cleared by a resume).
    func pendingCancellations(of id: String, cleared: Set<String>) async throws -> [String] {
        try await readInbox(name: id).compactMap { record in
            guard record.type == ControlRecord.recordType,
                let control = try? WorkflowJSON.decode(ControlRecord.self, from: record.payload),
                control.action == "cancel", !cleared.contains(control.id)
            else { return nil }
            return control.id
        }
    }

    /// Requests cancellation of workflow `id` and, if no live executor holds it, records the
    /// cancellation itself. Usable without an engine (the `durable cancel` command).
    ///
    /// - Returns: the status after the request: `CANCELLED`, or `PENDING` while the live owner has
    ///   not reached its next operation yet, or the unchanged terminal status.
    @discardableResult
    public func cancelWorkflow(_ id: String, executorID: String, at time: Int64) async throws -> WorkflowStatus {
        let history = try WorkflowHistory(await read(name: id))
        if history.status.isTerminal { return history.status }
        let control = ControlRecord(id: UUID().uuidString.lowercased(), action: "cancel", at: time)
        try await appendToInbox(name: id, type: ControlRecord.recordType, payload: try WorkflowJSON.encode(control)) {
            _ in false
        }
        guard let claimed = try? await claimWorkflow(id) else { return .pending }  // its live owner will honour it
        defer { claimed.lease.release() }
        let current = try WorkflowHistory(workflowID: id, records: claimed.records)
        if current.status.isTerminal { return current.status }
        try await claimed.lease.append([
            .end(.cancelled, output: nil, error: WorkflowCancelledError(workflowID: id).portable, at: time)
        ])
        return .cancelled
    }

    /// The workflows started (or enqueued) by `id`, by their children, and so on, parents first.
    func descendants(of id: String) throws -> [String] {
        try index.refresh()
        var children: [String: [IndexEntry]] = [:]
        for entry in index.entries(where: { $0.parentWorkflowID != nil }) {
            children[entry.parentWorkflowID!, default: []].append(entry)
        }
        var found: [String] = []
        var frontier = [id]
        var seen: Set<String> = [id]
        while let next = frontier.popLast() {
            for child in (children[next] ?? []).sorted(by: { $0.createdAt < $1.createdAt })
            where seen.insert(child.workflowID).inserted {
                found.append(child.workflowID)
                frontier.append(child.workflowID)
            }
        }
        return found
    }

    /// Cancels workflow `id` and, with `includingChildren`, every descendant that has not ended
    /// (usable without an engine: `durable cancel --children`). Returns `id`'s status after the request.
    public func cancelWorkflowTree(
        _ id: String, includingChildren: Bool, executorID: String, at time: Int64
    ) async throws -> WorkflowStatus {
        let status = try await cancelWorkflow(id, executorID: executorID, at: time)
        if includingChildren {
            for child in try descendants(of: id) {
                _ = try await cancelWorkflow(child, executorID: executorID, at: time)
            }
        }
        return status
    }

    /// Marks a `CANCELLED` or `MAX_RECOVERY_ATTEMPTS_EXCEEDED` workflow `PENDING` again, voiding
    /// earlier cancel requests and resetting its recovery count. Returns the writer (the lease is
    /// held) and the log's records, so the caller may run it at once.
    ///
    /// With `enqueue`, the workflow goes to its queue (the internal queue if it had none) as
    /// `ENQUEUED` instead, for whichever executor of its version picks it up first.
    func resumeWorkflow(
        _ id: String, executorID: String, at time: Int64, enqueue: Bool = false
    ) async throws -> (lease: FileWorkflowLease, records: [LogRecord]) {
        let opened: (lease: FileWorkflowLease, records: [LogRecord])
        do throws(StorageError) {
            opened = try await claimWorkflow(id)
        } catch {
            if error.code == .leaseHeld {
                throw WorkflowError("cannot resume: the workflow is running", workflowID: id, code: .invalidState)
            }
            throw error
        }
        let history = try WorkflowHistory(workflowID: id, records: opened.records)
        guard history.status == .cancelled || history.status == .maxRecoveryAttemptsExceeded else {
            opened.lease.release()
            throw WorkflowError(
                "only CANCELLED or MAX_RECOVERY_ATTEMPTS_EXCEEDED workflows can be resumed (it is \(history.status))",
                workflowID: id, code: .invalidState)
        }
        let controls = try await pendingCancellations(of: id, cleared: [])
        var delta = IndexDelta()
        delta.status = .pending
        delta.recoveryAttempts = 1
        delta.executorID = executorID
        delta.updatedAt = time
        if enqueue {
            delta.status = .enqueued
            delta.recoveryAttempts = 0  // the claim counts the first attempt
            if history.fields.queueName == nil { delta.queueName = WorkflowQueue.internalQueueName }
        }
        let resume = ResumeRecord(at: time, executorID: executorID, clearedControls: controls)
        do {
            try await opened.lease.append([.resumed(resume), .statusChanged(delta)])
        } catch {
            opened.lease.release()
            throw error
        }
        return (opened.lease, try await read(name: id).records)
    }

    /// Resumes workflow `id` for an executor to run (the `durable resume` command and clients):
    /// puts it back on its queue (the internal queue if it had none), where the first executor
    /// of its version that knows the workflow starts it, within milliseconds.
    public func resumeWorkflowForRecovery(_ id: String, executorID: String, at time: Int64) async throws {
        let (lease, records) = try await resumeWorkflow(id, executorID: executorID, at: time, enqueue: true)
        lease.release()
        try queueFiles(named: IndexFields(folding: records).queueName ?? WorkflowQueue.internalQueueName).ring()
    }
}

extension WorkflowCancelledError {
    var portable: PortableError { PortableError(name: "WorkflowCancelled", message: description) }
}

extension WorkflowEvent {
    /// The event that ends a workflow with `status`.
    static func end(_ status: WorkflowStatus, output: String?, error: PortableError?, at time: Int64) -> Self {
        .ended(EndRecord(status: status.rawValue, output: output, error: error, completedAt: time))
    }
}

extension DurableEngine {
    /// Cancels workflow `id`: a running workflow (in this process or another) stops at its next
    /// operation and ends `CANCELLED`; a pending workflow whose executor died, or one still
    /// waiting in a queue, is marked `CANCELLED` at once. A finished workflow is left as it is.
    ///
    /// With `includingChildren`, every child workflow it started or enqueued (and theirs, in
    /// turn) that has not ended is cancelled too, after the parent.
    ///
    /// - Returns: `id`'s status after the request (`PENDING` while an owner in another process
    ///   has not reached its next operation yet).
    @discardableResult
    public func cancel(_ id: String, includingChildren: Bool = false) async throws -> WorkflowStatus {
        let status = try await cancelOne(id)
        if includingChildren {
            for child in try store.descendants(of: id) { _ = try await cancelOne(child) }
        }
        return status
    }

    private func cancelOne(_ id: String) async throws -> WorkflowStatus {
        if let execution = runningExecution(id) {
            execution.requestCancel()
            _ = await execution.wait()
            return try WorkflowHistory(await store.read(name: id)).status
        }
        return try await store.cancelWorkflow(
            id, executorID: configuration.executorID, at: configuration.clock.nowMilliseconds())
    }

    /// Resumes a `CANCELLED` or `MAX_RECOVERY_ATTEMPTS_EXCEEDED` workflow from its last completed
    /// step (recorded steps are replayed, not run again) and returns its handle. It runs in this
    /// engine at once, unless it came from a queue (it goes back to its queue, to run within the
    /// queue's limits) or this engine does not know it (it goes to the internal queue).
    public func resume<Output: Codable & Sendable>(
        _ id: String, as output: Output.Type = Output.self
    ) async throws -> WorkflowHandle<Output> {
        // An execution here that just recorded its end may still hold the lease: let it let go.
        if let execution = runningExecution(id) { _ = await execution.wait() }
        try await store.refreshIndex()
        let fields = store.index.entry(forWorkflowID: id)?.fields
        if fields?.queueName != nil || registeredWorkflow(named: fields?.name ?? "") == nil {
            try await store.resumeWorkflowForRecovery(
                id, executorID: configuration.executorID, at: configuration.clock.nowMilliseconds())
            return WorkflowHandle(workflowID: id, engine: self)
        }
        let (lease, records) = try await store.resumeWorkflow(
            id, executorID: configuration.executorID, at: configuration.clock.nowMilliseconds())
        let history = try WorkflowHistory(workflowID: id, records: records)
        guard let start = history.start, let workflow = registeredWorkflow(named: start.name) else {
            lease.release()  // left PENDING for an engine that knows the workflow
            return WorkflowHandle(workflowID: id, engine: self)
        }
        startResumed(
            workflow, id: id, inputs: history.inputs ?? start.inputs, lease: lease, recorded: history.operations,
            cleared: history.clearedControls,
            deadline: history.fields.deadline)
        return WorkflowHandle(workflowID: id, engine: self)
    }
}
