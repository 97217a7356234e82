import DurableStorage

extension WorkflowContext {
    /// Waits for whichever of `handles` ends first (succeeds, fails or is cancelled) and returns
    /// it, as a recorded operation (`DBOS.waitFirst`, as DBOS's `wait_first`): a replayed or
    /// recovered workflow gets the same one, whichever ends first then. Await its
    /// ``ChildWorkflowHandle/result()`` for its outcome.
    public func waitFirst<Output: Codable & Sendable>(
        _ handles: [ChildWorkflowHandle<Output>]
    ) async throws -> ChildWorkflowHandle<Output> {
        let first = try await waitFirst(workflowIDs: handles.map(\.workflowID))
        return handles.first { $0.workflowID == first }!
    }

    /// Waits for whichever of the workflows `ids` ends first and returns its ID, recorded as
    /// ``waitFirst(_:)`` is. The workflows need not be this one's children.
    public func waitFirst(workflowIDs ids: [String]) async throws -> String {
        guard !ids.isEmpty else {
            throw WorkflowError("waitFirst needs at least one workflow", workflowID: workflowID, code: .invalidArgument)
        }
        guard let engine else {
            throw WorkflowError("this context has no engine", workflowID: workflowID, code: .notServing)
        }
        let output = try await operation(
            kind: "waitFirst", name: "DBOS.waitFirst", retry: .none, key: ids.joined(separator: ",")
        ) {
            let first = try await interruptibleByCancel {
                try await withThrowingTaskGroup(of: String.self) { group in
                    for id in ids {
                        group.addTask {
                            do {
                                _ = try await engine.outputJSON(of: id)
                            } catch is PortableError {
                                // It ended with an error: it ended.
                            }
                            return id
                        }
                    }
                    defer { group.cancelAll() }
                    return try await group.next()!
                }
            }
            return try WorkflowJSON.encodeText(first)
        }
        let first = try WorkflowJSON.decode(String.self, fromText: output)
        guard ids.contains(first) else {
            throw WorkflowError(
                "the recorded first workflow \"\(first)\" is not among those waited for", workflowID: workflowID,
                code: .unreadableRecord)
        }
        return first
    }
}
