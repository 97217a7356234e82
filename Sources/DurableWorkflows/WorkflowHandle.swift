import DurableLog

/// A handle to a workflow: its ID, its status, and (awaited) its result.
///
/// Handles are cheap values; one can be made for any ID with ``DurableEngine/handle(for:as:)``,
/// including workflows started by another process.
public struct WorkflowHandle<Output: Codable & Sendable>: Sendable {
    /// The workflow's ID.
    public let workflowID: String
    let engine: DurableEngine

    /// Waits for the workflow to finish and returns its result.
    ///
    /// - Throws: the workflow's recorded error as a ``PortableError``, a ``NonDeterminismError``
    ///   if this process stopped it, or ``WorkflowError`` if no such workflow exists.
    public func result() async throws -> Output {
        try WorkflowJSON.decode(Output.self, fromText: try await engine.outputJSON(of: workflowID))
    }

    /// The workflow's current status.
    public func status() throws -> WorkflowStatus {
        guard let status = try engine.status(of: workflowID) else { throw WorkflowError("no workflow has this ID", workflowID: workflowID) }
        return status
    }
}
