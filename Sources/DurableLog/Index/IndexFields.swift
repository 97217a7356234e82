import DurableStorage

/// The fields of a workflow as the index keeps them (the index's name for `WorkflowFields`).
public typealias IndexFields = WorkflowFields

/// A change to a workflow's index entry.
public typealias IndexDelta = IndexFields

extension IndexFields {
    /// The fold of the index updates among `records` (in log order).
    public init(folding records: [LogRecord]) {
        self.init()
        for record in records where record.type == .indexUpdate {
            if let delta = IndexDelta(decoding: record.payload) { apply(delta) }
        }
    }
}

extension IndexFields {
    // Wire format: a sequence of (varint key, value) pairs, protobuf-style. key = tag << 1 | kind,
    // kind 0 = zigzag varint, kind 1 = length-prefixed bytes. Unknown tags are skipped, so later
    // versions may add fields. Tags are forever: never reuse one.
    fileprivate enum Tag: UInt64 {
        case workflowID = 1, status, name, queueName, applicationVersion, executorID, createdAt, updatedAt
        case startedAt, parentWorkflowID, recoveryAttempts, priority, deduplicationID, partitionKey
        case timeoutMilliseconds, deadline, delayUntil, forkedFrom, corruption, attribute
        case enqueueSequence, isDebounced, debounceDeadline, removed
    }

    /// The binary encoding of these fields.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        func string(_ tag: Tag, _ value: String?) {
            guard let value else { return }
            w.varint(tag.rawValue << 1 | 1)
            w.lengthPrefixed(Array(value.utf8))
        }
        func int(_ tag: Tag, _ value: Int64?) {
            guard let value else { return }
            w.varint(tag.rawValue << 1)
            w.varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
        }
        string(.workflowID, workflowID)
        string(.status, status?.rawValue)
        string(.name, name)
        string(.queueName, queueName)
        string(.applicationVersion, applicationVersion)
        string(.executorID, executorID)
        int(.createdAt, createdAt)
        int(.updatedAt, updatedAt)
        int(.startedAt, startedAt)
        string(.parentWorkflowID, parentWorkflowID)
        int(.recoveryAttempts, recoveryAttempts)
        int(.priority, priority)
        string(.deduplicationID, deduplicationID)
        string(.partitionKey, partitionKey)
        int(.timeoutMilliseconds, timeoutMilliseconds)
        int(.deadline, deadline)
        int(.delayUntil, delayUntil)
        string(.forkedFrom, forkedFrom)
        string(.corruption, corruption)
        int(.enqueueSequence, enqueueSequence)
        int(.isDebounced, isDebounced.map { $0 ? 1 : 0 })
        int(.debounceDeadline, debounceDeadline)
        int(.removed, removed.map { $0 ? 1 : 0 })
        for (key, value) in attributes.sorted(by: { $0.key < $1.key }) {
            var pair = ByteWriter()
            pair.lengthPrefixed(Array(key.utf8))
            pair.lengthPrefixed(Array(value.utf8))
            w.varint(Tag.attribute.rawValue << 1 | 1)
            w.lengthPrefixed(pair.bytes)
        }
        return w.bytes
    }

    /// Decodes fields written by ``encoded()``; `nil` if the bytes are malformed.
    public init?(decoding bytes: ArraySlice<UInt8>) {
        self.init()
        var r = ByteReader(bytes)
        while !r.isAtEnd {
            guard let key = r.varint() else { return nil }
            let tag = Tag(rawValue: key >> 1)
            if key & 1 == 1 {
                guard let raw = r.lengthPrefixed() else { return nil }
                let text = String(decoding: raw, as: UTF8.self)
                switch tag {
                case .workflowID: workflowID = text
                case .status: status = WorkflowStatus(rawValue: text)
                case .name: name = text
                case .queueName: queueName = text
                case .applicationVersion: applicationVersion = text
                case .executorID: executorID = text
                case .parentWorkflowID: parentWorkflowID = text
                case .deduplicationID: deduplicationID = text
                case .partitionKey: partitionKey = text
                case .forkedFrom: forkedFrom = text
                case .corruption: corruption = text
                case .attribute:
                    var pair = ByteReader(raw)
                    guard let k = pair.lengthPrefixed(), let v = pair.lengthPrefixed() else { return nil }
                    attributes[String(decoding: k, as: UTF8.self)] = String(decoding: v, as: UTF8.self)
                default: break  // unknown or mistyped tag: skip
                }
            } else {
                guard let raw = r.varint() else { return nil }
                let value = Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
                switch tag {
                case .createdAt: createdAt = value
                case .updatedAt: updatedAt = value
                case .startedAt: startedAt = value
                case .recoveryAttempts: recoveryAttempts = value
                case .priority: priority = value
                case .timeoutMilliseconds: timeoutMilliseconds = value
                case .deadline: deadline = value
                case .delayUntil: delayUntil = value
                case .enqueueSequence: enqueueSequence = value
                case .isDebounced: isDebounced = value != 0
                case .debounceDeadline: debounceDeadline = value
                case .removed: removed = value != 0
                default: break
                }
            }
        }
    }

    /// Decodes fields from a byte array.
    public init?(decoding bytes: [UInt8]) { self.init(decoding: bytes[...]) }
}

/// One workflow as the index knows it.
///
/// The fields are held in their wire encoding (``IndexFields/encoded()``, typically under 100
/// bytes), not as an ``IndexFields`` value (about 450 bytes plus a heap string per long field):
/// every process keeps one entry per workflow in memory, so a million workflows cost about
/// 200 MB instead of a gigabyte. ``fields`` decodes them; the accessors below read one field
/// without decoding the rest, for the filters a listing runs over every entry.
public struct IndexEntry: Sendable, Equatable {
    /// The log's key.
    public var key: LogKey
    /// The sequence number, in the workflow's own log, of the last index update applied.
    public var logSeq: UInt64
    private var encoded: [UInt8]

    /// The accumulated fields.
    public var fields: IndexFields {
        get { IndexFields(decoding: encoded) ?? IndexFields() }  // written by `encoded()`: always decodes
        set { encoded = newValue.encoded() }
    }

    /// Creates an entry.
    public init(key: LogKey, fields: IndexFields = IndexFields(), logSeq: UInt64 = 0) {
        self.key = key
        self.logSeq = logSeq
        encoded = fields.encoded()
    }

    /// The workflow ID (empty only for a log whose first record was lost).
    public var workflowID: String { text(of: .workflowID) ?? "" }
    /// The status (`PENDING` until a delta says otherwise).
    public var status: WorkflowStatus { text(of: .status).map(WorkflowStatus.init(rawValue:)) ?? .pending }
    /// Whether the log is quarantined.
    public var isQuarantined: Bool { IndexFields.find(.corruption, in: encoded) != nil }
    /// The registered workflow name, if known.
    public var name: String? { text(of: .name) }
    /// The queue it was enqueued on, if any.
    public var queueName: String? { text(of: .queueName) }
    /// Creation time, Unix ms (0 if unknown).
    public var createdAt: Int64 { number(of: .createdAt) ?? 0 }
    /// Last status change, Unix ms (the creation time if unknown).
    public var updatedAt: Int64 { number(of: .updatedAt) ?? createdAt }
    /// The application version that started it, if known.
    public var applicationVersion: String? { text(of: .applicationVersion) }
    /// The parent workflow, for child workflows.
    public var parentWorkflowID: String? { text(of: .parentWorkflowID) }
    /// The deduplication ID it was enqueued with, if any.
    public var deduplicationID: String? { text(of: .deduplicationID) }
    /// The partition key it was enqueued with, if any.
    public var partitionKey: String? { text(of: .partitionKey) }
    /// Its queue priority, if one was given.
    public var priority: Int64? { number(of: .priority) }
    /// Its enqueue sequence number, if it was enqueued.
    public var enqueueSequence: Int64? { number(of: .enqueueSequence) }
    /// When a delayed enqueue becomes runnable, Unix ms, if it was delayed.
    public var delayUntil: Int64? { number(of: .delayUntil) }

    private func text(of tag: IndexFields.Tag) -> String? {
        IndexFields.find(tag, in: encoded).map { String(decoding: $0, as: UTF8.self) }
    }

    private func number(of tag: IndexFields.Tag) -> Int64? {
        guard let raw = IndexFields.find(tag, in: encoded) else { return nil }
        var r = ByteReader(raw)
        return r.varint().map { Int64(bitPattern: $0 >> 1) ^ -Int64(bitPattern: $0 & 1) }
    }
}

extension IndexFields {
    /// The value bytes of the last field tagged `tag` in `bytes` (a length-prefixed field's
    /// contents, or a varint field's varint), without decoding the others.
    fileprivate static func find(_ tag: Tag, in bytes: [UInt8]) -> ArraySlice<UInt8>? {
        var r = ByteReader(bytes[...])
        var found: ArraySlice<UInt8>?
        while !r.isAtEnd {
            guard let key = r.varint() else { return nil }
            let start = r.position
            if key & 1 == 1 {
                guard let raw = r.lengthPrefixed() else { return nil }
                if key >> 1 == tag.rawValue { found = raw }
            } else {
                guard r.varint() != nil else { return nil }
                if key >> 1 == tag.rawValue { found = bytes[start..<r.position] }
            }
        }
        return found
    }
}
