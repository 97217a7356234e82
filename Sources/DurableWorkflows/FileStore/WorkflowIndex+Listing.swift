import DurableLog
import DurableStorage

extension WorkflowIndex {
    /// The workflows matching `filter`, from the in-memory index (no log is read).
    public func workflows(matching filter: WorkflowFilter) -> [WorkflowSummary] {
        matchingKeys(filter).compactMap { entry(for: $0.key) }.map { WorkflowSummary($0.fields) }
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
