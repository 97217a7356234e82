/// Managing other workflows from inside a workflow: each call is a recorded operation under the
/// name DBOS 3.x gives it, so a replayed workflow gets the same answer and does not act twice.
extension WorkflowContext {
    /// The status of workflow `id` (`nil` if there is none), recorded as `DBOS.getStatus`.
    ///
    /// DBOS records its whole status object there; this records the status name alone.
    public func status(of id: String) async throws -> WorkflowStatus? {
        let engine = try managingEngine()
        let output = try await operation(kind: "getStatus", name: "DBOS.getStatus", retry: .none, key: id) {
            try WorkflowJSON.encodeText(try await engine.status(of: id)?.rawValue)
        }
        return try WorkflowJSON.decode(String?.self, fromText: output).flatMap(WorkflowStatus.init(rawValue:))
    }

    /// Cancels workflow `id` (see ``DurableEngine/cancel(_:includingChildren:)``), recorded as
    /// `DBOS.cancelWorkflow`. A workflow cannot cancel itself this way: it returns or throws instead.
    public func cancelWorkflow(_ id: String, includingChildren: Bool = false) async throws {
        let engine = try managingEngine(acting: id)
        _ = try await operation(kind: "cancelWorkflow", name: "DBOS.cancelWorkflow", retry: .none, key: id) {
            try await engine.cancel(id, includingChildren: includingChildren)
            return "null"
        }
    }

    /// Resumes workflow `id` (see ``DurableEngine/resume(_:as:)``), recorded as `DBOS.resumeWorkflow`.
    public func resumeWorkflow(_ id: String) async throws {
        let engine = try managingEngine(acting: id)
        _ = try await operation(kind: "resumeWorkflow", name: "DBOS.resumeWorkflow", retry: .none, key: id) {
            _ = try await engine.resume(id, as: JSONValue.self)
            return "null"
        }
    }

    /// Forks workflow `id` from step `fromStep` (see ``DurableEngine/fork(_:fromStep:newID:as:)``),
    /// recorded as `DBOS.forkWorkflow`, and returns the new workflow's ID. Without `newID`, the
    /// new ID is derived from this workflow's and the call's position, so replay names the same fork.
    public func forkWorkflow(_ id: String, fromStep: Int, newID: String? = nil) async throws -> String {
        let engine = try managingEngine(acting: id)
        let forkID = newID ?? "\(workflowID)-\(nextPosition)-fork"
        let output = try await operation(kind: "forkWorkflow", name: "DBOS.forkWorkflow", retry: .none, key: id) {
            try WorkflowJSON.encodeText(
                try await engine.fork(id, fromStep: fromStep, newID: forkID, as: JSONValue.self).workflowID)
        }
        return try WorkflowJSON.decode(String.self, fromText: output)
    }

    private func managingEngine(acting target: String? = nil) throws -> DurableEngine {
        guard let engine else {
            throw WorkflowError("this context has no engine", workflowID: workflowID, code: .notServing)
        }
        if target == workflowID {
            throw WorkflowError(
                "a workflow cannot manage itself from inside; return or throw instead", workflowID: workflowID,
                code: .invalidArgument)
        }
        return engine
    }
}
