/// Which ended workflows to delete, as DBOS's `garbage_collect` does: by age, by count, or both.
/// Workflows that have not ended (pending, enqueued, delayed) and quarantined ones are never
/// deleted.
public struct RetentionPolicy: Sendable, Equatable {
    /// Delete workflows that ended longer ago than this.
    public var maxAge: Duration?
    /// Keep at most this many ended workflows: the most recently created ones.
    public var maxCount: Int?

    /// A policy; with neither limit it deletes nothing.
    public init(maxAge: Duration? = nil, maxCount: Int? = nil) {
        self.maxAge = maxAge
        self.maxCount = maxCount
    }
}

extension WorkflowStore {
    /// The ended workflows `policy` selects at `now` (Unix ms), oldest first.
    func garbage(_ policy: RetentionPolicy, now: Int64) async throws -> [String] {
        var filter = WorkflowFilter()
        filter.statuses = [.success, .error, .cancelled, .maxRecoveryAttemptsExceeded]
        var ended = try await list(filter).filter { $0.corruption == nil }
        ended.sort { ($0.createdAt, $0.workflowID) > ($1.createdAt, $1.workflowID) }  // newest first
        var selected = Set<String>()
        if let maxCount = policy.maxCount { selected.formUnion(ended.dropFirst(max(0, maxCount)).map(\.workflowID)) }
        if let maxAge = policy.maxAge {
            let cutoff = now - maxAge.milliseconds
            selected.formUnion(ended.filter { $0.updatedAt < cutoff }.map(\.workflowID))
        }
        return ended.reversed().map(\.workflowID).filter(selected.contains)
    }

    /// Deletes what ``garbage(_:now:)`` selects; returns the IDs deleted.
    func collectGarbage(_ policy: RetentionPolicy, now: Int64) async throws -> [String] {
        try await delete(try await garbage(policy, now: now))
    }
}

extension DurableEngine {
    /// Deletes the ended workflows `policy` selects, with their inboxes and index entries, and
    /// compacts the index. Returns the IDs deleted. (``Configuration/retention`` does it
    /// periodically.)
    @discardableResult
    public func garbageCollect(_ policy: RetentionPolicy) async throws -> [String] {
        try await storage.collectGarbage(policy, now: configuration.clock.nowMilliseconds())
    }
}

extension DurableClient {
    /// The IDs ``garbageCollect(_:)`` would delete now, oldest first (deletes nothing).
    public func garbage(_ policy: RetentionPolicy) async throws -> [String] {
        try await storage.garbage(policy, now: clock.nowMilliseconds())
    }

    /// Deletes the ended workflows `policy` selects (see ``DurableEngine/garbageCollect(_:)``).
    @discardableResult
    public func garbageCollect(_ policy: RetentionPolicy) async throws -> [String] {
        try await storage.collectGarbage(policy, now: clock.nowMilliseconds())
    }
}
