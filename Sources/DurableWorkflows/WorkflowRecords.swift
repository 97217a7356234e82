import DurableLog
import FoundationEssentials

/// The record types the workflow engine writes to a workflow's log, and their JSON payloads.
///
/// Every payload is compact JSON, and every value inside it (inputs, outputs, errors) is JSON
/// text stored verbatim, so the DBOS export (`portable_json`) is a direct mapping.
enum WorkflowRecordType {
    /// The workflow's input and identity (written once, when the log is created).
    static let start = RecordType(rawValue: 0x10)
    /// One completed operation (`function_id`) with its output or error.
    static let operation = RecordType(rawValue: 0x11)
    /// The workflow's outcome.
    static let end = RecordType(rawValue: 0x12)
    /// A recovery attempt by an executor.
    static let attempt = RecordType(rawValue: 0x13)
    /// New inputs for a debounced workflow that has not started (the last one wins).
    static let inputs = RecordType(rawValue: 0x15)
}

/// An INPUTS record: a later debounce replaced the inputs of a workflow still waiting to start.
struct InputsRecord: Codable, Sendable, Equatable {
    /// Inputs as DBOS `portable_json`.
    var inputs: String
    /// When, Unix ms.
    var at: Int64
}

/// The START record: what the workflow was started with.
struct StartRecord: Codable, Sendable, Equatable {
    /// The registered workflow name.
    var name: String
    /// Inputs as DBOS `portable_json`: `{"positionalArgs":[input],"namedArgs":{}}`.
    var inputs: String
    /// The application version that started it.
    var applicationVersion: String
    /// The executor that started it.
    var executorID: String
    /// Creation time, Unix ms.
    var createdAt: Int64
    /// The absolute deadline, Unix ms, if the workflow (or its parent) has a timeout.
    var deadline: Int64? = nil
}

/// An OPERATION record: one completed step or engine operation.
struct OperationRecord: Codable, Sendable, Equatable {
    /// 1-based position in the workflow (`function_id`).
    var functionID: Int
    /// The step's name (or the engine operation's, such as `DBOS.sleep`).
    var name: String
    /// The kind: `step`, `now`, `uuid`, `random`, ...
    var kind: String
    /// The output as JSON text (`null` for a step that returned nothing); nil if it failed.
    var output: String?
    /// The recorded error, if it failed.
    var error: PortableError?
    /// When it started and finished, Unix ms.
    var startedAt: Int64
    var completedAt: Int64
    /// How many attempts it took.
    var attempts: Int
    /// A child workflow's ID, for child operations.
    var childWorkflowID: String?
    /// The event key, for `DBOS.setEvent` (the value is the output).
    var key: String?
}

/// The END record: the workflow's outcome.
struct EndRecord: Codable, Sendable, Equatable {
    /// `SUCCESS`, `ERROR`, `CANCELLED` or `MAX_RECOVERY_ATTEMPTS_EXCEEDED`.
    var status: String
    /// The output as JSON text, on success.
    var output: String?
    /// The error, on failure.
    var error: PortableError?
    /// When it ended, Unix ms.
    var completedAt: Int64
}

/// An ATTEMPT record: an executor took over the workflow after its previous owner died.
struct AttemptRecord: Codable, Sendable, Equatable {
    /// The attempt number (the first execution is 1).
    var attempt: Int
    /// The executor that recovered it.
    var executorID: String
    /// When, Unix ms.
    var at: Int64
}

/// JSON coding shared by the engine's records and payloads.
enum WorkflowJSON {
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    static func encodeText<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }

    static func decode<T: Decodable>(_ type: T.Type, fromText text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    /// Throws a ``WorkflowError`` naming `what` if `name` (a topic, an event or stream key, an
    /// idempotency key) cannot be stored and exported: PostgreSQL text holds no NUL.
    ///
    /// `text` if it is one JSON value that can be stored as it is (spliced into an input envelope,
    /// written to PostgreSQL); throws a ``WorkflowError`` saying why not. Foundation's decoder
    /// stops at a NUL, so `0\u{0}` would pass it and then break the envelope: NUL is refused first.
    static func checkedName(_ name: String?, what: String) throws {
        guard let name else { return }
        if name.utf8.contains(0) {
            throw WorkflowError("\(what) must not contain a NUL character", code: .invalidArgument)
        }
        if name.utf8.count > LogKey.maxNameLength {
            throw WorkflowError(
                "\(what) must be at most \(LogKey.maxNameLength) bytes, got \(name.utf8.count)", code: .invalidArgument)
        }
    }

    static func checkedValue(_ text: String, what: String) throws -> String {
        if text.utf8.contains(0) {
            throw WorkflowError("\(what) is not valid JSON: it contains a NUL character", code: .invalidArgument)
        }
        do {
            _ = try decode(JSONValue.self, fromText: text)
        } catch {
            throw WorkflowError(
                "\(what) is not valid JSON: \(text.count > 80 ? String(text.prefix(77)) + "..." : text)",
                code: .invalidArgument)
        }
        return text
    }

    /// DBOS's portable input envelope around one value.
    static func inputs<T: Encodable>(_ input: T) throws -> String {
        "{\"namedArgs\":{},\"positionalArgs\":[\(try encodeText(input))]}"
    }

    /// The single positional argument of a portable input envelope.
    static func input<T: Decodable>(_ type: T.Type, fromInputs text: String) throws -> T {
        guard let first = try decode(InputEnvelope<T>.self, fromText: text).positionalArgs?.first else {
            throw WorkflowError("the workflow's recorded inputs hold no positional argument", code: .unreadableRecord)
        }
        return first
    }
}

/// DBOS's portable input envelope; only the positional arguments are used.
struct InputEnvelope<T: Decodable>: Decodable {
    var positionalArgs: [T]?
}

/// A workflow's log, decoded: what was started, which operations completed, how it ended.
public struct WorkflowHistory: Sendable {
    /// The workflow ID.
    public var workflowID: String
    /// The index fields the log implies.
    public var fields: IndexFields
    var start: StartRecord?
    var operations: [Int: OperationRecord] = [:]
    var attempts: [AttemptRecord] = []
    var end: EndRecord?
    /// The inputs of the last INPUTS record, if a debounce replaced the START inputs.
    var replacedInputs: String?
    /// Control requests (cancellations) voided by a resume.
    var clearedControls: Set<String> = []
    /// How the log file ends (clean, torn or corrupted).
    public var outcome: LogScan.Outcome

    /// Decodes a log read by the storage engine.
    public init(_ contents: LogContents) throws {
        try self.init(workflowID: contents.name ?? "", records: contents.records, outcome: contents.outcome)
    }

    /// Decodes verified records of a workflow's log.
    init(workflowID: String, records: [LogRecord], outcome: LogScan.Outcome = .clean) throws {
        self.init(workflowID: workflowID, outcome: outcome)
        try apply(records)
    }

    /// An empty history, to be built up with ``apply(_:)`` as the log grows.
    init(workflowID: String, outcome: LogScan.Outcome = .clean) {
        self.workflowID = workflowID
        self.outcome = outcome
        fields = IndexFields()
    }

    /// Adds records that follow the ones applied so far (in log order).
    mutating func apply(_ records: [LogRecord]) throws {
        for record in records {
            switch record.type {
            case .indexUpdate: if let delta = IndexDelta(decoding: record.payload) { fields.apply(delta) }
            case WorkflowRecordType.start: start = try WorkflowJSON.decode(StartRecord.self, from: record.payload)
            case WorkflowRecordType.operation:
                let operation = try WorkflowJSON.decode(OperationRecord.self, from: record.payload)
                operations[operation.functionID] = operation
            case WorkflowRecordType.attempt:
                attempts.append(try WorkflowJSON.decode(AttemptRecord.self, from: record.payload))
            case WorkflowRecordType.end: end = try WorkflowJSON.decode(EndRecord.self, from: record.payload)
            case WorkflowRecordType.inputs:
                replacedInputs = try WorkflowJSON.decode(InputsRecord.self, from: record.payload).inputs
            case ResumeRecord.recordType:
                end = nil
                clearedControls.formUnion(
                    try WorkflowJSON.decode(ResumeRecord.self, from: record.payload).clearedControls)
            default: continue
            }
        }
    }

    /// The workflow's status as its log records it.
    public var status: WorkflowStatus { fields.status ?? .pending }

    /// The input envelope (DBOS `portable_json`) the workflow runs with: the START record's,
    /// or the last inputs a debounce put in its place.
    public var inputs: String? { replacedInputs ?? start?.inputs }

    /// The output JSON text, for a workflow that succeeded.
    public var output: String? { end?.output }

    /// The error, for a workflow that failed.
    public var error: PortableError? { end?.error }

    /// When the workflow ended, Unix ms (nil while it has not).
    public var completedAt: Int64? { end?.completedAt }

    /// Every item written to a stream, in order: (position, key, value JSON text, whether it
    /// closed the stream). A close carries no value.
    public var streamItems: [(functionID: Int, key: String, value: String?, closes: Bool)] {
        operations.keys.sorted().compactMap { id in
            let operation = operations[id]!
            guard let key = operation.key else { return nil }
            switch operation.kind {
            case "writeStream": return (id, key, operation.output ?? "null", false)
            case "closeStream": return (id, key, nil, true)
            default: return nil
            }
        }
    }

    /// Every event set by the workflow, in order: (position, key, value JSON text).
    public var eventHistory: [(functionID: Int, key: String, value: String)] {
        operations.keys.sorted().compactMap { id in
            let operation = operations[id]!
            guard operation.kind == "setEvent", let key = operation.key else { return nil }
            return (id, key, operation.output ?? "null")
        }
    }

    /// The latest value (JSON text) of each event key.
    public var events: [String: String] {
        var latest: [String: String] = [:]
        for (_, key, value) in eventHistory { latest[key] = value }
        return latest
    }

    /// The completed operations in order.
    public var steps: [StepInfo] {
        operations.keys.sorted().map { id in
            let operation = operations[id]!
            return StepInfo(
                functionID: id, name: operation.name, kind: operation.kind, output: operation.output,
                error: operation.error,
                startedAt: operation.startedAt, completedAt: operation.completedAt, attempts: operation.attempts,
                childWorkflowID: operation.childWorkflowID, key: operation.key)
        }
    }
}

/// One completed operation of a workflow, as listed by ``DurableEngine/steps(of:)`` and `durable steps`.
public struct StepInfo: Sendable, Equatable {
    /// 1-based position (`function_id`).
    public var functionID: Int
    /// The step name.
    public var name: String
    /// `step`, `now`, `uuid`, `random`, ...
    public var kind: String
    /// The output as JSON text (nil if the step failed).
    public var output: String?
    /// The recorded error, if it failed.
    public var error: PortableError?
    /// Start and end, Unix ms.
    public var startedAt: Int64
    public var completedAt: Int64
    /// Attempts taken (retries + 1).
    public var attempts: Int
    /// The child workflow, for child operations.
    public var childWorkflowID: String?
    /// What the operation was about: the event key (`setEvent`), the stream key (`writeStream`,
    /// `closeStream`), the destination (`send`) or the received message's ID (`recv`).
    public var key: String? = nil

    /// How long it took, in ms.
    public var durationMilliseconds: Int64 { completedAt - startedAt }
}
