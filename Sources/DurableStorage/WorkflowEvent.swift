/// One thing that happened to a workflow, in the order it happened: the unit a store records.
///
/// A workflow's history is the sequence of its events; every backend stores them durably and
/// gives them back in the same order and with the same content. Payloads (inputs, outputs,
/// event values) are JSON text kept verbatim, as DBOS's `portable_json` holds them.
public enum WorkflowEvent: Sendable, Equatable {
    /// The workflow was created with these inputs (the first event of every workflow).
    case started(StartRecord)
    /// An operation (a step, or an engine operation such as a sleep or a send) completed.
    case operation(OperationRecord)
    /// An executor took over the workflow after its previous owner died (or claimed it from a queue).
    case attempt(AttemptRecord)
    /// An operator resumed the workflow; earlier control requests are void.
    case resumed(ResumeRecord)
    /// A later debounce replaced the inputs of a workflow still waiting to start.
    case inputsReplaced(InputsRecord)
    /// The workflow ended.
    case ended(EndRecord)
    /// Some of the workflow's status fields changed (only the fields set change).
    case statusChanged(WorkflowFields)

    /// Whether this is a ``statusChanged(_:)`` event.
    public var isStatusChange: Bool {
        if case .statusChanged = self { true } else { false }
    }
}

/// What a workflow was started with.
public struct StartRecord: Codable, Sendable, Equatable {
    /// The registered workflow name.
    public var name: String
    /// Inputs as DBOS `portable_json`: `{"positionalArgs":[input],"namedArgs":{}}`.
    public var inputs: String
    /// The application version that started it.
    public var applicationVersion: String
    /// The executor that started it.
    public var executorID: String
    /// Creation time, Unix ms.
    public var createdAt: Int64
    /// The absolute deadline, Unix ms, if the workflow (or its parent) has a timeout.
    public var deadline: Int64?

    /// Creates a start record.
    public init(
        name: String, inputs: String, applicationVersion: String, executorID: String, createdAt: Int64,
        deadline: Int64? = nil
    ) {
        self.name = name
        self.inputs = inputs
        self.applicationVersion = applicationVersion
        self.executorID = executorID
        self.createdAt = createdAt
        self.deadline = deadline
    }
}

/// One completed step or engine operation, at its position (`function_id`).
public struct OperationRecord: Codable, Sendable, Equatable {
    /// 1-based position in the workflow (`function_id`).
    public var functionID: Int
    /// The step's name (or the engine operation's, such as `DBOS.sleep`).
    public var name: String
    /// The kind: `step`, `now`, `uuid`, `random`, `sleep`, `send`, `recv`, `setEvent`, ...
    public var kind: String
    /// The output as JSON text (`null` for a step that returned nothing); nil if it failed.
    public var output: String?
    /// The recorded error, if it failed.
    public var error: PortableError?
    /// When it started, Unix ms.
    public var startedAt: Int64
    /// When it finished, Unix ms.
    public var completedAt: Int64
    /// How many attempts it took.
    public var attempts: Int
    /// A child workflow's ID, for child operations.
    public var childWorkflowID: String?
    /// What the operation was about: an event or stream key, a destination, a message ID.
    public var key: String?
    /// The topic a `send` or `recv` used (empty for none); nil in records written before it was
    /// recorded. Replay checks it, so a changed topic is reported instead of replayed silently.
    public var topic: String?

    /// Creates an operation record.
    public init(
        functionID: Int, name: String, kind: String, output: String?, error: PortableError?, startedAt: Int64,
        completedAt: Int64, attempts: Int, childWorkflowID: String? = nil, key: String? = nil, topic: String? = nil
    ) {
        self.topic = topic
        self.functionID = functionID
        self.name = name
        self.kind = kind
        self.output = output
        self.error = error
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.attempts = attempts
        self.childWorkflowID = childWorkflowID
        self.key = key
    }
}

/// A workflow's outcome.
public struct EndRecord: Codable, Sendable, Equatable {
    /// `SUCCESS`, `ERROR`, `CANCELLED` or `MAX_RECOVERY_ATTEMPTS_EXCEEDED`.
    public var status: String
    /// The output as JSON text, on success.
    public var output: String?
    /// The error, on failure.
    public var error: PortableError?
    /// When it ended, Unix ms.
    public var completedAt: Int64

    /// Creates an end record.
    public init(status: String, output: String?, error: PortableError?, completedAt: Int64) {
        self.status = status
        self.output = output
        self.error = error
        self.completedAt = completedAt
    }
}

/// An executor's attempt at a workflow after the first (a recovery, or a start from a queue).
public struct AttemptRecord: Codable, Sendable, Equatable {
    /// The attempt number (the first execution is 1).
    public var attempt: Int
    /// The executor that took it over.
    public var executorID: String
    /// When, Unix ms.
    public var at: Int64

    /// Creates an attempt record.
    public init(attempt: Int, executorID: String, at: Int64) {
        self.attempt = attempt
        self.executorID = executorID
        self.at = at
    }
}

/// An operator resumed a cancelled (or stuck) workflow.
public struct ResumeRecord: Codable, Sendable, Equatable {
    /// When, Unix ms.
    public var at: Int64
    /// The executor (or client) that resumed it.
    public var executorID: String
    /// The control requests (cancellations) the resume voids.
    public var clearedControls: [String]
    /// For a rewind, the first position (`function_id`) run again: the operations recorded at it
    /// and after it are void, so the workflow runs them anew. Nil for a resume, which keeps them.
    public var fromStep: Int?

    /// Creates a resume record.
    public init(at: Int64, executorID: String, clearedControls: [String], fromStep: Int? = nil) {
        self.at = at
        self.executorID = executorID
        self.clearedControls = clearedControls
        self.fromStep = fromStep
    }
}

/// New inputs for a debounced workflow that has not started (the last one wins).
public struct InputsRecord: Codable, Sendable, Equatable {
    /// Inputs as DBOS `portable_json`.
    public var inputs: String
    /// When, Unix ms.
    public var at: Int64

    /// Creates an inputs record.
    public init(inputs: String, at: Int64) {
        self.inputs = inputs
        self.at = at
    }
}
