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
            for child in try await storage.descendants(of: id) { _ = try await cancelOne(child) }
        }
        return status
    }

    private func cancelOne(_ id: String) async throws -> WorkflowStatus {
        if let execution = runningExecution(id) {
            execution.requestCancel()
            _ = await execution.wait()
            return WorkflowHistory(workflowID: id, events: try await storage.history(of: id)).status
        }
        return try await storage.cancelWorkflow(
            id, executorID: configuration.executorID, at: configuration.clock.nowMilliseconds())
    }

    /// Resumes a `CANCELLED` or `MAX_RECOVERY_ATTEMPTS_EXCEEDED` workflow from its last completed
    /// step (recorded steps are replayed, not run again) and returns its handle. It runs in this
    /// engine at once, unless it came from a queue (it goes back to its queue, to run within the
    /// queue's limits) or this engine does not know it (it goes to the internal queue).
    public func resume<Output: Codable & Sendable>(
        _ id: String, as output: Output.Type = Output.self
    ) async throws -> WorkflowHandle<Output> {
        try await resume(id, rewindingTo: nil)
    }

    /// Re-runs workflow `id`, which has ended, from step `step` under the same ID (DBOS's
    /// `rewind_workflow`): the operations recorded before `step` are replayed, `step` and every
    /// later one run anew. What those later operations did inside the workflow is undone: the
    /// messages they received are delivered again, events and streams are as they were before
    /// `step`. What they did outside stays: child workflows they started keep their outcomes
    /// (the rerun gets the same child, by its ID), sent messages stay sent. The log keeps the
    /// rewound operations (`durable inspect` shows the rewind); it runs here, on its queue, or on
    /// the internal queue as ``resume(_:as:)`` decides.
    public func rewind<Output: Codable & Sendable>(
        _ id: String, toStep step: Int = 1, as output: Output.Type = Output.self
    ) async throws -> WorkflowHandle<Output> {
        try await resume(id, rewindingTo: step)
    }

    private func resume<Output: Codable & Sendable>(
        _ id: String, rewindingTo cut: Int?
    ) async throws -> WorkflowHandle<Output> {
        guard let fields = try await storage.fields(of: id) else {
            throw WorkflowError("no workflow with ID \"\(id)\"", workflowID: id, code: .notFound)
        }
        // An execution here that has just recorded its end may still hold the lease: let it let go.
        // (One still running is refused below, when the lease turns out held.)
        if (fields.status ?? .pending).isTerminal, let execution = runningExecution(id) { _ = await execution.wait() }
        if fields.queueName != nil || registeredWorkflow(named: fields.name ?? "") == nil {
            try await storage.resumeWorkflowForRecovery(
                id, executorID: configuration.executorID, at: configuration.clock.nowMilliseconds(), rewindingTo: cut)
            return WorkflowHandle(workflowID: id, engine: self)
        }
        let (lease, history) = try await storage.resumeWorkflow(
            id, executorID: configuration.executorID, at: configuration.clock.nowMilliseconds(), rewindingTo: cut)
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
