/// The workflow's code no longer matches its log: replay met an operation that differs from
/// the recorded one at the same position, or the workflow returned while recorded operations
/// remained. Nothing is written to the log; the workflow stays `PENDING` until the code is fixed
/// (or the workflow is forked from an earlier step).
public struct NonDeterminismError: Error, Sendable, CustomStringConvertible {
    /// The workflow.
    public var workflowID: String
    /// The registered workflow name.
    public var workflowName: String
    /// The operation position (`function_id`, 1-based).
    public var functionID: Int
    /// What the log recorded at that position (`nil` if nothing).
    public var recorded: String?
    /// What the code did at that position (`nil` if it returned).
    public var current: String?

    public var description: String {
        let recordedText = recorded.map { "the log recorded \($0)" } ?? "the log recorded nothing more"
        let currentText = current.map { "the code now runs \($0)" } ?? "the code returned"
        return "workflow \"\(workflowID)\" (\(workflowName)) is not deterministic at operation \(functionID): "
            + "\(recordedText), but \(currentText). Nothing but the recovery attempt was written to its log; restore the code that "
            + "started it, or fork it from an earlier step"
    }
}

/// The workflow's log (or inbox) is damaged, so it is quarantined: it cannot run or be
/// recovered, and nothing waits for it. `durable check` and `durable dump` show the damage;
/// `durable fork` from an earlier step continues it under a new ID.
public struct QuarantinedWorkflowError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The workflow.
    public var workflowID: String
    /// What is damaged.
    public var reason: String

    /// Creates an error.
    public init(workflowID: String, reason: String) {
        self.workflowID = workflowID
        self.reason = reason
    }

    public var description: String { "workflow \"\(workflowID)\" is quarantined: its log is damaged (\(reason))" }
}

/// A workflow was started (or enqueued) with the ID of an existing workflow of another name.
/// The ID is an idempotency key for one workflow: as in DBOS, reusing it for another is refused.
public struct ConflictingWorkflowError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The workflow ID.
    public var workflowID: String
    /// The name of the workflow that has the ID.
    public var existingName: String
    /// The name the call asked for.
    public var requestedName: String

    /// Creates an error.
    public init(workflowID: String, existingName: String, requestedName: String) {
        self.workflowID = workflowID
        self.existingName = existingName
        self.requestedName = requestedName
    }

    public var description: String {
        "workflow ID \"\(workflowID)\" belongs to a \"\(existingName)\" workflow; it cannot start a \"\(requestedName)\" workflow"
    }
}

/// Misuse of the engine or a workflow in a state that does not allow the request.
public struct WorkflowError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure, for callers to switch on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let value: String
        private init(_ value: String) { self.value = value }
        public var description: String { value }

        /// No workflow (or schedule) has this ID or name.
        public static let notFound = Code("notFound")
        /// No workflow is registered under the name in this engine.
        public static let notRegistered = Code("notRegistered")
        /// An argument is not acceptable (a priority, JSON text, a step number, a time zone).
        public static let invalidArgument = Code("invalidArgument")
        /// A workflow with the ID exists already (where a new one was asked for, as by a fork).
        public static let alreadyExists = Code("alreadyExists")
        /// The workflow's state does not allow the request (resuming a running workflow).
        public static let invalidState = Code("invalidState")
        /// An input, output or message is larger than the configured limit.
        public static let payloadTooLarge = Code("payloadTooLarge")
        /// The engine is not launched yet, or shut down.
        public static let notServing = Code("notServing")
        /// A recorded value does not decode (the log holds something this code cannot read).
        public static let unreadableRecord = Code("unreadableRecord")
        /// Anything else.
        public static let failed = Code("failed")
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong.
    public var message: String
    /// The workflow concerned, if any.
    public var workflowID: String?

    /// Creates an error.
    public init(_ message: String, workflowID: String? = nil, code: Code = .failed) {
        self.message = message
        self.workflowID = workflowID
        self.code = code
    }

    public var description: String { workflowID.map { "\(message) (workflow \"\($0)\")" } ?? message }
}
