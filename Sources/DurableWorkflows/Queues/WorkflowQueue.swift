import DurableStorage

/// A queue of workflows, shared by every process on a data directory.
///
/// Workflows enqueued on it wait as `ENQUEUED` (or `DELAYED`) and are started, oldest first
/// within each priority, by whichever executor that registered the queue has room, without
/// exceeding any limit across processes:
///
/// ```swift
/// let emails = WorkflowQueue("emails", concurrency: 10, workerConcurrency: 2,
///                            rateLimit: .init(limit: 50, period: .seconds(60)))
/// engine.register(emails)
/// try await engine.launch()
/// let handle = try await engine.enqueue(SendEmail.self, message, on: emails)
/// ```
///
/// With partition keys, every limit applies to each partition separately.
public struct WorkflowQueue: Sendable, Hashable {
    /// At most `limit` workflows start per `period`.
    public struct RateLimit: Sendable, Hashable {
        /// Starts allowed per period.
        public var limit: Int
        /// The sliding window.
        public var period: Duration

        /// A limit of `limit` starts per `period`.
        public init(limit: Int, period: Duration) {
            self.limit = limit
            self.period = period
        }
    }

    /// The queue every engine serves without limits, on which ``DurableClient/start(_:_:id:timeout:applicationVersion:as:)``
    /// puts workflows (DBOS's name for it).
    public static let internalQueueName = "_dbos_internal_queue"

    /// The queue's name (what enqueuers use).
    public var name: String
    /// How many of its workflows may run at once across all processes (`nil`: no limit).
    public var concurrency: Int?
    /// How many may run at once in one process (`nil`: no limit).
    public var workerConcurrency: Int?
    /// How many may start per period across all processes (`nil`: no limit).
    public var rateLimit: RateLimit?

    /// Declares a queue. Register it on each engine that should run its workflows.
    public init(_ name: String, concurrency: Int? = nil, workerConcurrency: Int? = nil, rateLimit: RateLimit? = nil) {
        precondition(
            concurrency.map { $0 > 0 && $0 <= StorageLimits.maxQueueConcurrency } ?? true,
            "queue concurrency must be 1...\(StorageLimits.maxQueueConcurrency)")
        precondition(workerConcurrency.map { $0 > 0 } ?? true, "worker concurrency must be positive")
        precondition(
            rateLimit.map { $0.limit > 0 && $0.period > .zero } ?? true,
            "a rate limit needs a positive limit and period")
        self.name = name
        self.concurrency = concurrency
        self.workerConcurrency = workerConcurrency
        self.rateLimit = rateLimit
    }
}

/// How to enqueue a workflow.
public struct EnqueueOptions: Sendable {
    /// What a second enqueue with a live deduplication ID does.
    public enum DuplicatePolicy: Sendable {
        /// Throw ``QueueDeduplicatedError``.
        case fail
        /// Return a handle to the workflow that holds the deduplication ID.
        case returnExisting
    }

    /// The workflow ID (an idempotency key; a UUID if `nil`).
    public var id: String?
    /// 1 to 2³¹−1, lower first; workflows without a priority go before all prioritised ones.
    public var priority: Int?
    /// At most one workflow with this ID waits or runs in the queue at a time.
    public var deduplicationID: String?
    /// Limits apply per partition key.
    public var partitionKey: String?
    /// Start no earlier than this long from now (`DELAYED` until then).
    public var delay: Duration?
    /// A timeout counted from when the workflow starts (a durable deadline, as for `start`).
    public var timeout: Duration?
    /// The application version that must run it (`nil`: whichever executor dequeues it).
    public var applicationVersion: String?
    /// What to do when `deduplicationID` is taken.
    public var onDuplicate: DuplicatePolicy = .fail

    /// Options with nothing set.
    public init(
        id: String? = nil, priority: Int? = nil, deduplicationID: String? = nil, partitionKey: String? = nil,
        delay: Duration? = nil, timeout: Duration? = nil, applicationVersion: String? = nil,
        onDuplicate: DuplicatePolicy = .fail
    ) {
        self.id = id
        self.priority = priority
        self.deduplicationID = deduplicationID
        self.partitionKey = partitionKey
        self.delay = delay
        self.timeout = timeout
        self.applicationVersion = applicationVersion
        self.onDuplicate = onDuplicate
    }
}

/// An enqueue was refused because another live workflow holds its deduplication ID.
public struct QueueDeduplicatedError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The queue.
    public var queueName: String
    /// The deduplication ID.
    public var deduplicationID: String
    /// The workflow that holds it (enqueued, delayed or running).
    public var existingWorkflowID: String

    public var description: String {
        "queue \"\(queueName)\" already has a live workflow with deduplication ID \"\(deduplicationID)\": \"\(existingWorkflowID)\""
    }
}
