import DurableStorage

/// A child workflow started from a workflow. Awaiting its result is itself a recorded
/// operation (`DBOS.getResult`), so a replayed parent gets the same result without waiting.
public struct ChildWorkflowHandle<Output: Codable & Sendable>: Sendable {
    /// The child's workflow ID.
    public let workflowID: String
    let parent: WorkflowContext

    /// Waits for the child and returns its result (or throws its error), recorded in the parent.
    public func result() async throws -> Output {
        let id = workflowID
        guard let engine = parent.engine else {
            throw WorkflowError("this context has no engine", workflowID: parent.workflowID, code: .notServing)
        }
        let output = try await parent.operation(
            kind: "getResult", name: "DBOS.getResult", retry: .none, childWorkflowID: id
        ) {
            try await parent.interruptibleByCancel { try await engine.outputJSON(of: id) }
        }
        return try WorkflowJSON.decode(Output.self, fromText: output)
    }
}

extension WorkflowContext {
    /// Starts `W` as a child of this workflow, as a recorded operation named after the child
    /// workflow (as DBOS names it). The child's ID defaults to `<parent-id>-<position>`, so a
    /// replayed parent finds the same child instead of starting another; the child runs on its
    /// own and is recovered on its own. The parent/child link is kept in the index.
    ///
    /// A child inherits its parent's deadline; `timeout` can only make the child's earlier.
    public func startChild<W: Workflow>(
        _ type: W.Type, _ input: W.Input, id: String? = nil, timeout: Duration? = nil
    ) async throws -> ChildWorkflowHandle<W.Output> {
        try await startChild(name: W.name, input, id: id, timeout: timeout, as: W.Output.self)
    }

    /// Starts the workflow registered under `name` (a closure, say) as a child of this
    /// workflow; see ``startChild(_:_:id:timeout:)``.
    public func startChild<Input: Codable & Sendable, Output: Codable & Sendable>(
        name: String, _ input: Input, id: String? = nil, timeout: Duration? = nil, as output: Output.Type = Output.self
    ) async throws -> ChildWorkflowHandle<Output> {
        guard let engine else {
            throw WorkflowError("this context has no engine", workflowID: workflowID, code: .notServing)
        }
        let childID = id ?? "\(workflowID)-\(nextPosition)"
        let parentID = workflowID
        let own = timeout.map { clock.nowMilliseconds() + $0.milliseconds }
        let inherited = [deadline, own].compactMap { $0 }.min()
        _ = try await operation(kind: "child", name: name, retry: .none, childWorkflowID: childID) {
            let _: WorkflowHandle<Output> = try await engine.start(
                name: name, input, id: childID, parent: parentID, timeout: timeout, deadline: inherited)
            return "null"
        }
        return ChildWorkflowHandle(workflowID: childID, parent: self)
    }

    /// Starts `W` as a child and waits for its result (two recorded operations).
    public func runChild<W: Workflow>(
        _ type: W.Type, _ input: W.Input, id: String? = nil, timeout: Duration? = nil
    ) async throws -> W.Output {
        try await startChild(type, input, id: id, timeout: timeout).result()
    }

    /// Starts the workflow registered under `name` as a child and waits for its result.
    public func runChild<Input: Codable & Sendable, Output: Codable & Sendable>(
        name: String, _ input: Input, id: String? = nil, timeout: Duration? = nil, as output: Output.Type = Output.self
    ) async throws -> Output {
        try await startChild(name: name, input, id: id, timeout: timeout, as: output).result()
    }
}

extension DurableEngine {
    /// The workflows started as children of `id`, oldest first.
    public func children(of id: String) async throws -> [WorkflowSummary] {
        var filter = WorkflowFilter()
        filter.parentWorkflowID = id
        return try await listWorkflows(filter)
    }
}
