/// Where an engine keeps its workflows: the one protocol between the engine and storage.
///
/// A store records each workflow as its history (a sequence of ``WorkflowEvent``s) plus the
/// workflow's status fields (``WorkflowFields``), and hands out ``WorkflowLease``s, the right to
/// append to one workflow. Every method is async and never blocks Swift's cooperative pool: a
/// backend that does blocking I/O does it on threads of its own.
///
/// The semantics every backend keeps (the conformance suite in `DurableStorageTests` states
/// them as tests):
/// - ``create(_:fields:events:)`` is idempotent by ID: exactly one of any number of concurrent
///   creates of one ID, in any processes, succeeds; the others get nil.
/// - At most one lease per workflow is live at a time, across processes; ``claim(_:)`` returns
///   nil while another holds it, and succeeds once the holder released it or died.
/// - Events come back from ``history(of:)`` in the order they were appended, each exactly as it
///   was appended, and an append is all-or-nothing. Between them a history may hold
///   ``WorkflowEvent/statusChanged(_:)`` events the store recorded itself (the creation's fields
///   first, the status an end or an attempt implies): folding every status change in order gives
///   the workflow's current fields.
public protocol WorkflowStore: Sendable {
    /// Creates workflow `id` with its first `events` (a ``WorkflowEvent/started(_:)`` first) and
    /// its status `fields`, and returns the lease on it. Returns nil if a workflow with that ID
    /// exists: the ID is an idempotency key.
    func create(_ id: String, fields: WorkflowFields, events: [WorkflowEvent]) async throws -> (any WorkflowLease)?

    /// Takes the lease on workflow `id` and returns it with the workflow's history, or nil while
    /// a live owner holds it. Throws ``WorkflowStoreError/Code/notFound`` for an unknown ID and
    /// ``WorkflowStoreError/Code/damaged`` for a workflow whose stored history is damaged
    /// or quarantined (checked once the lease is taken, so a claim never races a quarantine).
    func claim(_ id: String) async throws -> WorkflowClaim?

    /// The recorded events of workflow `id`, in order, whoever holds its lease. Throws
    /// ``WorkflowStoreError/Code/notFound`` for an unknown ID.
    func history(of id: String) async throws -> [WorkflowEvent]

    /// The current status fields of workflow `id` (nil for an unknown ID). They reflect every
    /// append acknowledged before the call, in this process or another.
    func fields(of id: String) async throws -> WorkflowFields?

    /// The workflows matching `filter`, in its order, a page at a time (``WorkflowFilter/limit``).
    func list(_ filter: WorkflowFilter) async throws -> [WorkflowSummary]

    /// The workflows that may need recovering: `PENDING`, not damaged, and started by
    /// `applicationVersion` or by no version in particular; oldest first. Their owners may be
    /// alive: ``claim(_:)`` tells.
    func recoverable(applicationVersion: String) async throws -> [WorkflowSummary]

    /// Puts `item` in workflow `id`'s inbox, durably, unless an item with the same ID is there
    /// (idempotent delivery, decided atomically). Returns whether it was added. Throws
    /// ``WorkflowStoreError/Code/notFound`` if no workflow has the ID.
    @discardableResult
    func deliver(_ item: InboxItem, to id: String) async throws -> Bool

    /// Every item in workflow `id`'s inbox, in delivery order (none if nothing was delivered).
    func inbox(of id: String) async throws -> [InboxItem]

    /// Tells the executors serving `queue` that it has work they have not seen (a resumed or
    /// forked workflow, a requeued one), so they look now rather than at their next poll.
    func wake(queue: String) async throws

    // MARK: Following, damage and failure

    /// A follower of workflow `id`'s history: its events in the order ``history(of:)`` returns
    /// them, as any process appends them. The workflow need not exist yet (reads return nothing
    /// until it does). Reads throw ``WorkflowStoreError/Code/damaged`` for a quarantined workflow.
    func follow(_ id: String) async throws -> any StoreFollower<WorkflowEvent>

    /// A follower of workflow `id`'s inbox, in delivery order (an item the store cannot decode is
    /// skipped; a damaged inbox is ``WorkflowStoreError/Code/damaged``, confirmed against writers).
    func followInbox(of id: String) async throws -> any StoreFollower<InboxItem>

    /// Marks workflow `id` damaged for good (`reason` says how): it is no longer recovered or
    /// claimed, lists show the reason, and followers of its history fail with it.
    func quarantine(_ id: String, reason: String) async throws

    /// The failure (``WorkflowStoreError/Code/durabilityLost``) that stopped the store
    /// acknowledging writes for good, or nil while it serves. Told from memory.
    var failure: WorkflowStoreError? { get }

    /// Calls `handler` once, when the store first stops for good (see ``failure``).
    func onFailure(_ handler: @escaping @Sendable (WorkflowStoreError) -> Void)

    /// Repairs what crashed processes left half-done (see ``RepairScope``): status fields that
    /// lag their histories, leftovers of interrupted writes, unusable derived state.
    func repair(_ scope: RepairScope) async throws -> RepairReport

    /// Deletes the workflows `ids` that have ended, with everything stored for them (their
    /// inboxes included), and returns those deleted. A workflow that has not ended, that a live
    /// process holds, or that is unknown is left alone.
    func delete(_ ids: [String]) async throws -> [String]

    // MARK: Queues

    /// Creates workflow `id` waiting in queue `fields.queueName` (`ENQUEUED`, or `DELAYED`
    /// until `fields.delayUntil`), with its first `events`, and wakes the queue's executors. The
    /// store gives it the queue's next ``WorkflowFields/enqueueSequence`` (first in, first out).
    /// With a ``WorkflowFields/deduplicationID``, checking that no live workflow of the queue
    /// holds it and creating are one decision, across processes.
    func enqueue(_ id: String, fields: WorkflowFields, events: [WorkflowEvent]) async throws -> EnqueueOutcome

    /// Starts what the queue's limits allow this executor now, as one decision across every
    /// executor: the global and per-executor concurrency and the rate limit (per partition),
    /// in DBOS's order (unprioritised first, then ascending priority; first in, first out among
    /// equals). See ``DequeueResult`` for what a started workflow looks like.
    func dequeue(_ request: DequeueRequest) async throws -> DequeueResult

    /// Records the limits an executor serves a queue with and the workflow names it registered
    /// (kept as the union over executors, best effort), for ``queues()``.
    func recordQueue(_ configuration: QueueConfiguration) async throws

    /// Every queue that has workflows or a recorded configuration, with its counts, by name.
    func queues() async throws -> [QueueSummary]

    /// A token for the current state of `queue`, to wait for what comes after it.
    func queueVersion(_ queue: String) async -> UInt64

    /// Returns once `queue` may have changed after `version` (an enqueue, a workflow of it
    /// ending, a wake), or after `timeout`, or when the task is cancelled. It may return early:
    /// callers look at the queue again and wait again.
    func waitForQueue(_ queue: String, after version: UInt64, timeout: Duration) async

    // MARK: Schedules

    /// Every schedule with a readable state, by name.
    func schedules() async throws -> [ScheduleState]

    /// Schedule `name`'s state (nil if it has none). Throws ``WorkflowStoreError/Code/damaged``
    /// if the stored state cannot be read.
    func schedule(named name: String) async throws -> ScheduleState?

    /// Replaces schedule `name`'s state with what `update` makes of the current one (nil when
    /// there is none or it is damaged); `update` returning nil leaves it. Concurrent updates,
    /// from any processes, never interleave.
    func updateSchedule(
        named name: String, _ update: @escaping @Sendable (ScheduleState?) -> ScheduleState?)
        async throws
}

/// A claimed workflow: the lease on it and its history when the lease was taken.
public struct WorkflowClaim: Sendable {
    /// The right to append to the workflow.
    public var lease: any WorkflowLease
    /// Every event recorded before the claim, in order.
    public var events: [WorkflowEvent]

    /// Creates a claim.
    public init(lease: any WorkflowLease, events: [WorkflowEvent]) {
        self.lease = lease
        self.events = events
    }
}

/// A storage failure every backend reports the same way, so the engine can act on it.
public struct WorkflowStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let value: String
        private init(_ value: String) { self.value = value }
        public var description: String { value }

        /// No workflow has the ID.
        public static let notFound = Code("notFound")
        /// The workflow's stored history is damaged (it is quarantined, not run).
        public static let damaged = Code("damaged")
        /// The request cannot be carried out as given (a missing field it needs).
        public static let invalidArgument = Code("invalidArgument")
        /// The store stopped acknowledging writes for good (a failed `fsync`: what it wrote may
        /// not be durable). Restart the process: recovery reads what did reach the disk.
        public static let durabilityLost = Code("durabilityLost")
        /// The store could not carry the request out (an I/O failure, a full disk, a read-only
        /// store): nothing was recorded, and the same request may succeed later.
        public static let unavailable = Code("unavailable")
        /// The store's data was written in a form this build cannot use (a DBOS system schema older
        /// or newer than the one it speaks): nothing was changed.
        public static let incompatible = Code("incompatible")
        /// The lease was lost (given up, or, on a database backend, taken over by another
        /// executor): the append did not happen, and the engine stops running the workflow.
        public static let ownershipLost = Code("ownershipLost")
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong.
    public var message: String
    /// The workflow concerned.
    public var workflowID: String?

    /// Creates an error.
    public init(_ code: Code, _ message: String, workflowID: String? = nil) {
        self.code = code
        self.message = message
        self.workflowID = workflowID
    }

    public var description: String { message }
}
