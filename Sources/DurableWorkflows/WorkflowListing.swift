import DurableLog

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

    init(_ entry: IndexEntry) {
        let f = entry.fields
        workflowID = entry.workflowID
        name = f.name ?? ""
        status = entry.status
        createdAt = f.createdAt ?? 0
        updatedAt = f.updatedAt ?? f.createdAt ?? 0
        applicationVersion = f.applicationVersion
        executorID = f.executorID
        queueName = f.queueName
        recoveryAttempts = Int(f.recoveryAttempts ?? 0)
        parentWorkflowID = f.parentWorkflowID
        errorName = f.attributes["error"]
        corruption = f.corruption
    }
}

extension WorkflowIndex {
    /// The workflows matching `filter`, from the in-memory index (no log is read).
    public func workflows(matching filter: WorkflowFilter) -> [WorkflowSummary] {
        matchingKeys(filter).compactMap { entry(for: $0.key) }.map(WorkflowSummary.init)
    }

    /// The IDs of the workflows matching `filter`, in the same order as
    /// ``workflows(matching:)``, without building a summary of each (for walking every workflow).
    public func workflowIDs(matching filter: WorkflowFilter) -> [String] { matchingKeys(filter).map(\.id) }

    /// The page of matching workflows, ordered by creation time then ID; only the sort keys of
    /// the matches are copied out of the index, not their entries.
    private func matchingKeys(_ filter: WorkflowFilter) -> ArraySlice<(createdAt: Int64, id: String, key: LogKey)> {
        var matches = compactMapEntries { entry -> (createdAt: Int64, id: String, key: LogKey)? in
            if !filter.statuses.isEmpty && !filter.statuses.contains(entry.status) { return nil }
            if let name = filter.name, entry.name != name { return nil }
            let id = entry.workflowID, createdAt = entry.createdAt
            if let prefix = filter.idPrefix, !id.hasPrefix(prefix) { return nil }
            if let after = filter.createdAfter, createdAt < after { return nil }
            if let before = filter.createdBefore, createdAt >= before { return nil }
            if let version = filter.applicationVersion, entry.applicationVersion != version { return nil }
            if let parent = filter.parentWorkflowID, entry.parentWorkflowID != parent { return nil }
            return (createdAt, id, entry.key)
        }
        matches.sort { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        if filter.newestFirst { matches.reverse() }
        let page = matches.dropFirst(filter.offset)
        return filter.limit.map { page.prefix($0) } ?? page
    }
}
