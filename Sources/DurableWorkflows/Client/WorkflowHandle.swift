/// A handle to a workflow: its ID, its status, and (awaited) its result.
///
/// Handles are cheap values; one can be made for any ID with ``DurableEngine/handle(for:as:)`` or
/// ``DurableClient/handle(for:as:)``,
/// including workflows started by another process.
public struct WorkflowHandle<Output: Codable & Sendable>: Sendable {
    /// The workflow's ID.
    public let workflowID: String
    /// Whether the call that returned this handle created the workflow: false when a workflow
    /// with the ID existed (the ID is an idempotency key, so nothing new was started), and for
    /// a handle made for an existing ID.
    public let created: Bool
    private let engine: DurableEngine?
    private let storage: any WorkflowStore

    init(workflowID: String, engine: DurableEngine, created: Bool = false) {
        self.workflowID = workflowID
        self.created = created
        self.engine = engine
        storage = engine.storage
    }

    /// A handle served from the store alone (a ``DurableClient``'s).
    init(workflowID: String, storage: any WorkflowStore, created: Bool = false) {
        self.workflowID = workflowID
        self.created = created
        engine = nil
        self.storage = storage
    }

    /// Waits for the workflow to finish and returns its result.
    ///
    /// - Throws: the workflow's recorded error as a `PortableError`, a ``NonDeterminismError``
    ///   if this process stopped it, or ``WorkflowError`` if no such workflow exists.
    public func result() async throws -> Output {
        let json: String
        if let engine {
            json = try await engine.outputJSON(of: workflowID)
        } else {
            json = try await storage.outputJSON(of: workflowID)
        }
        return try WorkflowJSON.decode(Output.self, fromText: json)
    }

    /// The workflow's current status, as of every change acknowledged before the call.
    public func status() async throws -> WorkflowStatus {
        guard let fields = try await storage.fields(of: workflowID) else {
            throw WorkflowError("no workflow with ID \"\(workflowID)\"", workflowID: workflowID, code: .notFound)
        }
        return fields.status ?? .pending
    }
}
