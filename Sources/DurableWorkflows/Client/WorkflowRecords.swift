import DurableStorage
import FoundationEssentials

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
    /// idempotency key; a workflow ID, queue name, partition key or deduplication ID, which with
    /// `allowsEmpty` false must not be empty) cannot be stored and exported: PostgreSQL text
    /// holds no NUL.
    ///
    /// `text` if it is one JSON value that can be stored as it is (spliced into an input envelope,
    /// written to PostgreSQL); throws a ``WorkflowError`` saying why not. Foundation's decoder
    /// stops at a NUL, so `0\u{0}` would pass it and then break the envelope: NUL is refused first.
    static func checkedName(_ name: String?, what: String, allowsEmpty: Bool = true) throws {
        guard let name else { return }
        if name.isEmpty, !allowsEmpty {
            throw WorkflowError("\(what) must not be empty", code: .invalidArgument)
        }
        if name.utf8.contains(0) {
            throw WorkflowError("\(what) must not contain a NUL character", code: .invalidArgument)
        }
        if name.utf8.count > StorageLimits.maxNameBytes {
            throw WorkflowError(
                "\(what) must be at most \(StorageLimits.maxNameBytes) bytes, got \(name.utf8.count)",
                code: .invalidArgument)
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

/// A workflow's history, decoded: what was started, which operations completed, how it ended.
public struct WorkflowHistory: Sendable {
    /// The workflow ID.
    public var workflowID: String
    /// The status fields the history implies (the fold of its status changes).
    public var fields: WorkflowFields
    /// What it was started with (nil only for a log whose first record was lost).
    public internal(set) var start: StartRecord?
    /// The completed operations by position (`function_id`); a rewind voids those from its cut.
    public internal(set) var operations: [Int: OperationRecord] = [:]
    /// The attempts after the first (recoveries, starts from a queue), in order.
    public internal(set) var attempts: [AttemptRecord] = []
    /// The operator's resumes and rewinds (``ResumeRecord/fromStep`` set), in order.
    public internal(set) var resumes: [ResumeRecord] = []
    /// How it ended (nil while it has not, or after a resume).
    public internal(set) var end: EndRecord?
    /// The inputs of the last INPUTS record, if a debounce replaced the START inputs.
    var replacedInputs: String?
    /// Control requests (cancellations) voided by a resume.
    var clearedControls: Set<String> = []
    /// The history `events` (a store's record of workflow `workflowID`) tell.
    public init(workflowID: String, events: [WorkflowEvent]) {
        self.init(workflowID: workflowID)
        apply(events)
    }

    /// An empty history, to be built up with ``apply(_:)`` as it grows.
    public init(workflowID: String) {
        self.workflowID = workflowID
        fields = WorkflowFields()
    }

    /// Adds events that follow the ones applied so far (in order), as a ``StoreFollower`` reads them.
    public mutating func apply(_ events: [WorkflowEvent]) {
        for event in events {
            switch event {
            case .statusChanged(let delta): fields.apply(delta)
            case .started(let record): start = record
            case .operation(let operation): operations[operation.functionID] = operation
            case .attempt(let attempt): attempts.append(attempt)
            case .ended(let record): end = record
            case .inputsReplaced(let record): replacedInputs = record.inputs
            case .resumed(let resume):
                end = nil
                fields.deadline = nil  // as DBOS's resume: the rerun has no deadline (a timeout ended it)
                resumes.append(resume)
                clearedControls.formUnion(resume.clearedControls)
                if let cut = resume.fromStep { operations = operations.filter { $0.key < cut } }
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
    public var steps: [StepInfo] { operations.keys.sorted().map { operations[$0]! } }
}

/// One completed operation of a workflow, as listed by ``DurableEngine/steps(of:)`` and
/// `durable steps`: the operation record itself.
public typealias StepInfo = OperationRecord

extension OperationRecord {
    /// How long it took, in ms.
    public var durationMilliseconds: Int64 { completedAt - startedAt }
}
