/// What a store keeps of a schedule: its definition (as the last executor to start declared
/// it), when it last fired, and whether it is paused.
///
/// The state is a hint, not a ledger: ticks are deduplicated by their workflow IDs, so a lost
/// update costs nothing but a re-derivation of the last fire time from the workflows.
public struct ScheduleState: Codable, Sendable, Equatable {
    /// The schedule's name.
    public var name: String
    /// Its cron expression.
    public var cron: String
    /// Its IANA time zone.
    public var timeZone: String
    /// The workflow it starts.
    public var workflowName: String
    /// The queue it starts it on (`nil`: the internal queue).
    public var queue: String?
    /// The latest tick fired, Unix ms.
    public var lastFiredAt: Int64?
    /// Whether ticks are skipped.
    public var paused = false

    /// Creates a state.
    public init(
        name: String, cron: String, timeZone: String, workflowName: String, queue: String? = nil,
        lastFiredAt: Int64? = nil, paused: Bool = false
    ) {
        self.name = name
        self.cron = cron
        self.timeZone = timeZone
        self.workflowName = workflowName
        self.queue = queue
        self.lastFiredAt = lastFiredAt
        self.paused = paused
    }
}
