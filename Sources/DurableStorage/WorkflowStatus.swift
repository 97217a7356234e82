/// A workflow's status, spelled as DBOS spells it in `workflow_status.status`.
public struct WorkflowStatus: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Running, or waiting to be recovered after its executor died.
    public static let pending = WorkflowStatus(rawValue: "PENDING")
    /// Waiting in a queue.
    public static let enqueued = WorkflowStatus(rawValue: "ENQUEUED")
    /// Enqueued with a start time in the future.
    public static let delayed = WorkflowStatus(rawValue: "DELAYED")
    /// Finished with a result.
    public static let success = WorkflowStatus(rawValue: "SUCCESS")
    /// Finished with an error.
    public static let error = WorkflowStatus(rawValue: "ERROR")
    /// Cancelled (by request or by its deadline).
    public static let cancelled = WorkflowStatus(rawValue: "CANCELLED")
    /// Recovered more often than allowed; needs an operator's `resume`.
    public static let maxRecoveryAttemptsExceeded = WorkflowStatus(rawValue: "MAX_RECOVERY_ATTEMPTS_EXCEEDED")

    /// Whether the workflow will not run again on its own.
    public var isTerminal: Bool {
        self == .success || self == .error || self == .cancelled || self == .maxRecoveryAttemptsExceeded
    }

    public var description: String { rawValue }
}
