/// The limits of a queue, as an executor declares them: what a dequeue enforces, and what
/// `durable queues` shows.
public struct QueueConfiguration: Codable, Sendable, Equatable {
    /// The queue's name.
    public var name: String
    /// Workflows of the queue running at once across every executor (per partition), if limited.
    public var concurrency: Int?
    /// Workflows of the queue running at once in one executor (per partition), if limited.
    public var workerConcurrency: Int?
    /// Starts allowed per ``rateLimitPeriodMilliseconds`` (per partition), if rate-limited.
    public var rateLimit: Int?
    /// The rate-limit window in ms.
    public var rateLimitPeriodMilliseconds: Int64?
    /// The workflow names the executors serving the queue registered (a store keeps the union
    /// of every executor's record), so a workflow enqueued under a name none of them knows is
    /// visible in ``QueueSummary/unservedWorkflows`` instead of waiting unexplained.
    public var workflowNames: [String]?

    /// Creates a configuration.
    public init(
        name: String, concurrency: Int? = nil, workerConcurrency: Int? = nil, rateLimit: Int? = nil,
        rateLimitPeriodMilliseconds: Int64? = nil, workflowNames: [String]? = nil
    ) {
        self.name = name
        self.concurrency = concurrency
        self.workerConcurrency = workerConcurrency
        self.rateLimit = rateLimit
        self.rateLimitPeriodMilliseconds = rateLimitPeriodMilliseconds
        self.workflowNames = workflowNames
    }
}

/// What ``WorkflowStore/enqueue(_:fields:events:)`` did.
public enum EnqueueOutcome: Sendable, Equatable {
    /// The workflow was created, waiting in its queue.
    case created
    /// A workflow with the ID exists; nothing changed.
    case exists
    /// A live workflow of the queue holds the deduplication ID; nothing changed.
    case deduplicated(holder: String)
}

/// One executor's request to start what a queue allows it now.
public struct DequeueRequest: Sendable {
    /// The queue and the limits to enforce.
    public var queue: QueueConfiguration
    /// The executor that will run what is started (recorded as the workflows' owner).
    public var executorID: String
    /// Only workflows started by this version, or by no version in particular, are started.
    public var applicationVersion: String
    /// Whether this executor can run a workflow of the given name (a workflow no executor
    /// here registered stays queued for another).
    public var canRun: @Sendable (String) -> Bool
    /// Partition key ("" for none) → workflows of the queue this executor runs now (for
    /// ``QueueConfiguration/workerConcurrency``).
    public var runningHere: [String: Int]
    /// The current time, Unix ms (read again once the decision is taken under the store's lock).
    public var now: @Sendable () -> Int64

    /// Creates a request.
    public init(
        queue: QueueConfiguration, executorID: String, applicationVersion: String,
        canRun: @escaping @Sendable (String) -> Bool, runningHere: [String: Int], now: @escaping @Sendable () -> Int64
    ) {
        self.queue = queue
        self.executorID = executorID
        self.applicationVersion = applicationVersion
        self.canRun = canRun
        self.runningHere = runningHere
        self.now = now
    }
}

/// What a dequeue started, and when to look again.
public struct DequeueResult: Sendable {
    /// The workflows started, with their leases: each is `PENDING` with the request's executor,
    /// its start time and one more start counted in ``WorkflowFields/recoveryAttempts``, and its
    /// global concurrency slot is held until the lease is released. In run order.
    public var started: [WorkflowClaim]
    /// The earliest time something that waits now may become startable (a delay or a rate
    /// window ending), Unix ms.
    public var wakeAt: Int64?
    /// Workflows the dequeue chose but could not start (they stay queued), with why.
    public var failed: [(workflowID: String, error: any Error)]

    /// Creates a result.
    public init(started: [WorkflowClaim], wakeAt: Int64?, failed: [(workflowID: String, error: any Error)] = []) {
        self.started = started
        self.wakeAt = wakeAt
        self.failed = failed
    }
}

/// A queue's limits and what it holds now, as `durable queues` shows it.
public struct QueueSummary: Sendable, Equatable {
    /// Counts for one partition (`nil`: workflows enqueued without a partition key).
    public struct Partition: Sendable, Equatable {
        /// The partition key.
        public var key: String?
        /// Waiting and due.
        public var enqueued = 0
        /// Waiting for their start time.
        public var delayed = 0
        /// Started and not ended (running, or waiting to be requeued after a crash).
        public var running = 0
        /// Run slots held right now by live processes (only for queues with a global limit).
        public var busySlots: Int?

        /// Creates empty counts for partition `key`.
        public init(key: String?) { self.key = key }
    }

    /// The queue's name.
    public var name: String
    /// The limits an executor recorded for it, if any did.
    public var configuration: QueueConfiguration?
    /// Per partition, sorted by key (no partition first).
    public var partitions: [Partition]
    /// Workflows of the queue that ended.
    public var ended = 0
    /// Name → waiting workflows of the queue under a name no executor serving it registered
    /// (none while no executor recorded its names): nothing will run them until one does.
    public var unservedWorkflows: [String: Int] = [:]

    /// Creates a summary.
    public init(name: String, configuration: QueueConfiguration?, partitions: [Partition]) {
        self.name = name
        self.configuration = configuration
        self.partitions = partitions
    }
}
