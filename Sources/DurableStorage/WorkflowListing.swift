/// Which workflows to list, in what order (DBOS's `list_workflows` filters).
public struct WorkflowFilter: Sendable, Equatable {
    /// Only these statuses (all if empty).
    public var statuses: Set<WorkflowStatus> = []
    /// Only this workflow name.
    public var name: String?
    /// Only IDs starting with this.
    public var idPrefix: String?
    /// Only workflows created at or after this time, Unix ms.
    public var createdAfter: Int64?
    /// Only workflows created before this time, Unix ms.
    public var createdBefore: Int64?
    /// Only this application version.
    public var applicationVersion: String?
    /// Only children of this workflow.
    public var parentWorkflowID: String?
    /// At most this many (after `offset`).
    public var limit: Int?
    /// Skip this many.
    public var offset = 0
    /// Newest first (oldest first by default).
    public var newestFirst = false

    /// Every workflow, oldest first.
    public init() {}
}

/// One workflow as listings show it.
public struct WorkflowSummary: Sendable, Equatable {
    /// The ID.
    public var workflowID: String
    /// The registered name.
    public var name: String
    /// The status.
    public var status: WorkflowStatus
    /// Creation and last-update time, Unix ms.
    public var createdAt: Int64
    public var updatedAt: Int64
    /// The application version that started it.
    public var applicationVersion: String?
    /// The executor that ran it last.
    public var executorID: String?
    /// The queue, if it was enqueued.
    public var queueName: String?
    /// Starts plus recoveries.
    public var recoveryAttempts: Int
    /// The parent, for a child workflow.
    public var parentWorkflowID: String?
    /// The error's name, for a failed workflow.
    public var errorName: String?
    /// Why the log is quarantined, if it is.
    public var corruption: String?

    /// The summary of a workflow whose status fields are `f`.
    public init(_ f: WorkflowFields) {
        workflowID = f.workflowID ?? ""
        name = f.name ?? ""
        status = f.status ?? .pending
        createdAt = f.createdAt ?? 0
        updatedAt = f.updatedAt ?? f.createdAt ?? 0
        applicationVersion = f.applicationVersion
        executorID = f.executorID
        queueName = f.queueName
        recoveryAttempts = Int(f.recoveryAttempts ?? 0)
        parentWorkflowID = f.parentWorkflowID
        errorName = f.status == .error ? f.attributes["error"] : nil  // (a rewound workflow keeps the attribute)
        corruption = f.corruption
    }
}
