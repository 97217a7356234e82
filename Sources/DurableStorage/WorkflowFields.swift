/// The fields of a workflow's status row: what listings, queues and recovery select on.
///
/// Used two ways: as a *change* (only the fields that change are set: a
/// ``WorkflowEvent/statusChanged(_:)``) and as the accumulated state (the fold of every change
/// in order). Field names and meanings follow DBOS's `workflow_status` table; every field is
/// optional because a change sets only some of them.
public struct WorkflowFields: Sendable, Equatable, Codable {
    /// The workflow ID (set by the first delta of every log).
    public var workflowID: String?
    /// The status.
    public var status: WorkflowStatus?
    /// The registered workflow name.
    public var name: String?
    /// The queue it was enqueued on.
    public var queueName: String?
    /// The application version that started it (recovery is pinned to it).
    public var applicationVersion: String?
    /// The executor currently (or last) running it.
    public var executorID: String?
    /// Creation time, Unix ms.
    public var createdAt: Int64?
    /// Last status change, Unix ms.
    public var updatedAt: Int64?
    /// When it was dequeued and started, Unix ms.
    public var startedAt: Int64?
    /// The parent workflow, for child workflows.
    public var parentWorkflowID: String?
    /// How many times it has been started or recovered.
    public var recoveryAttempts: Int64?
    /// Queue priority (lower runs first; 0 means none).
    public var priority: Int64?
    /// Queue deduplication ID.
    public var deduplicationID: String?
    /// Queue partition key.
    public var partitionKey: String?
    /// Timeout in ms (relative, from start).
    public var timeoutMilliseconds: Int64?
    /// Absolute deadline, Unix ms.
    public var deadline: Int64?
    /// Delayed start time, Unix ms.
    public var delayUntil: Int64?
    /// Position in its queue's first-in-first-out order (assigned at enqueue, across processes).
    public var enqueueSequence: Int64?
    /// Whether it was enqueued by a ``Debouncer``-style caller (its inputs and delay may still change).
    public var isDebounced: Bool?
    /// The latest time a debounced workflow may be delayed to, Unix ms.
    public var debounceDeadline: Int64?
    /// The workflow this one was forked from.
    public var forkedFrom: String?
    /// Why the log is quarantined, if it is.
    public var corruption: String?
    /// The workflow was deleted (by retention): the index forgets it.
    public var removed: Bool?
    /// Anything else a higher layer wants listed (for example an error's name). Merged key by key.
    public var attributes: [String: String] = [:]

    /// Creates an empty delta.
    public init() {}

    /// Applies `delta` on top of these fields: every field the delta sets wins.
    public mutating func apply(_ delta: WorkflowFields) {
        func take<T>(_ mine: inout T?, _ theirs: T?) { if let theirs { mine = theirs } }
        take(&workflowID, delta.workflowID)
        take(&status, delta.status)
        take(&name, delta.name)
        take(&queueName, delta.queueName)
        take(&applicationVersion, delta.applicationVersion)
        take(&executorID, delta.executorID)
        take(&createdAt, delta.createdAt)
        take(&updatedAt, delta.updatedAt)
        take(&startedAt, delta.startedAt)
        take(&parentWorkflowID, delta.parentWorkflowID)
        take(&recoveryAttempts, delta.recoveryAttempts)
        take(&priority, delta.priority)
        take(&deduplicationID, delta.deduplicationID)
        take(&partitionKey, delta.partitionKey)
        take(&timeoutMilliseconds, delta.timeoutMilliseconds)
        take(&deadline, delta.deadline)
        take(&delayUntil, delta.delayUntil)
        take(&enqueueSequence, delta.enqueueSequence)
        take(&isDebounced, delta.isDebounced)
        take(&debounceDeadline, delta.debounceDeadline)
        take(&forkedFrom, delta.forkedFrom)
        take(&corruption, delta.corruption)
        take(&removed, delta.removed)
        attributes.merge(delta.attributes) { _, new in new }
    }
}
