import DurableLog
import DurableStorage

/// How the file backend writes workflow events as log records, and reads them back.
///
/// Every event is one record whose payload is compact JSON (values inside it, such as inputs
/// and outputs, are JSON text kept verbatim, so the DBOS export is a direct mapping). A status
/// change is an index-update record, which the index folds; an end or an attempt is followed by
/// the index update it implies, so the index never lags what the log says.
enum WorkflowEventCodec {
    /// The workflow's input and identity (written once, when the log is created).
    static let start = RecordType(rawValue: 0x10)
    /// One completed operation (`function_id`) with its output or error.
    static let operation = RecordType(rawValue: 0x11)
    /// The workflow's outcome.
    static let end = RecordType(rawValue: 0x12)
    /// A recovery attempt by an executor.
    static let attempt = RecordType(rawValue: 0x13)
    /// An operator's resume.
    static let resume = RecordType(rawValue: 0x14)
    /// New inputs for a debounced workflow that has not started (the last one wins).
    static let inputs = RecordType(rawValue: 0x15)

    /// The records that store `event`.
    static func records(for event: WorkflowEvent) throws -> [RecordDraft] {
        switch event {
        case .started(let start): return [RecordDraft(type: Self.start, payload: try WorkflowJSON.encode(start))]
        case .operation(let operation):
            return [RecordDraft(type: Self.operation, payload: try WorkflowJSON.encode(operation))]
        case .attempt(let attempt):
            var delta = IndexDelta()
            delta.recoveryAttempts = Int64(attempt.attempt)
            delta.executorID = attempt.executorID
            delta.updatedAt = attempt.at
            return [RecordDraft(type: Self.attempt, payload: try WorkflowJSON.encode(attempt)), .indexUpdate(delta)]
        case .resumed(let resume): return [RecordDraft(type: Self.resume, payload: try WorkflowJSON.encode(resume))]
        case .inputsReplaced(let inputs):
            return [RecordDraft(type: Self.inputs, payload: try WorkflowJSON.encode(inputs))]
        case .ended(let end):
            var delta = IndexDelta()
            delta.status = WorkflowStatus(rawValue: end.status)
            delta.updatedAt = end.completedAt
            if let error = end.error { delta.attributes["error"] = error.name }
            return [RecordDraft(type: Self.end, payload: try WorkflowJSON.encode(end)), .indexUpdate(delta)]
        case .statusChanged(let fields): return [.indexUpdate(fields)]
        }
    }

    /// The records that store `events`, in order.
    static func records(for events: [WorkflowEvent]) throws -> [RecordDraft] {
        try events.flatMap(records(for:))
    }

    /// The events `records` store, in order. Record types the workflow engine does not write
    /// (inbox records, storage metadata) are skipped.
    static func events(from records: [LogRecord]) throws -> [WorkflowEvent] {
        var events: [WorkflowEvent] = []
        events.reserveCapacity(records.count)
        for record in records {
            switch record.type {
            case .indexUpdate:
                if let fields = IndexDelta(decoding: record.payload) { events.append(.statusChanged(fields)) }
            case start: events.append(.started(try WorkflowJSON.decode(StartRecord.self, from: record.payload)))
            case operation:
                events.append(.operation(try WorkflowJSON.decode(OperationRecord.self, from: record.payload)))
            case attempt: events.append(.attempt(try WorkflowJSON.decode(AttemptRecord.self, from: record.payload)))
            case end: events.append(.ended(try WorkflowJSON.decode(EndRecord.self, from: record.payload)))
            case inputs:
                events.append(.inputsReplaced(try WorkflowJSON.decode(InputsRecord.self, from: record.payload)))
            case resume: events.append(.resumed(try WorkflowJSON.decode(ResumeRecord.self, from: record.payload)))
            default: continue
            }
        }
        return events
    }
}

/// A lease on a workflow's log: the log's writer, holding its lock (and, for a workflow a
/// dequeue started, its queue's run slot, given back with the lease).
struct FileWorkflowLease: WorkflowLease {
    let writer: LogWriter
    private let onRelease: (@Sendable () -> Void)?

    init(_ writer: LogWriter, onRelease: (@Sendable () -> Void)? = nil) {
        self.writer = writer
        self.onRelease = onRelease
    }

    var workflowID: String { writer.name }

    func append(_ events: [WorkflowEvent]) async throws {
        let records = try WorkflowEventCodec.records(for: events)
        if records.isEmpty { return }
        _ = try await FileWorkflowStore.translating(workflowID) { try await writer.append(records) }
    }

    func release() {
        writer.close()
        onRelease?()
    }
}
