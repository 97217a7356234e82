import FoundationEssentials

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
        let fork = try await storage.forkWorkflow(
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
