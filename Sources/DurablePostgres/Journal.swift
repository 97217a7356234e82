import DurableExport
import DurableStorage
import FoundationEssentials
import PostgresNIO

/// How workflow events are kept in `durable_events`, swift-durable's journal beside DBOS's
/// tables: one row per event, its kind and its record as JSON (the same JSON the file backend
/// writes), so a history reads back exactly as it was appended.
enum Journal {
    /// One journal row: the event's kind and its JSON body.
    struct Entry: Sendable {
        var kind: String
        var body: String
    }

    /// `events` with, after an end or an attempt, the status change it implies (as the file
    /// backend records it), so folding the status changes in order gives the workflow's fields.
    static func expanded(_ events: [WorkflowEvent]) -> [WorkflowEvent] {
        events.flatMap { event -> [WorkflowEvent] in
            switch event {
            case .attempt(let record): [event, .statusChanged(implied(by: record))]
            case .ended(let record): [event, .statusChanged(implied(by: record))]
            default: [event]
            }
        }
    }

    /// The rows that record `events` (already ``expanded(_:)``), one per event.
    static func entries(for events: [WorkflowEvent]) throws -> [Entry] {
        try events.map { event in
            switch event {
            case .started(let record): Entry(kind: "started", body: try encode(record))
            case .operation(let record): Entry(kind: "operation", body: try encode(record))
            case .attempt(let record): Entry(kind: "attempt", body: try encode(record))
            case .resumed(let record): Entry(kind: "resumed", body: try encode(record))
            case .inputsReplaced(let record): Entry(kind: "inputsReplaced", body: try encode(record))
            case .ended(let record): Entry(kind: "ended", body: try encode(record))
            case .statusChanged(let fields): Entry(kind: "statusChanged", body: try encode(fields))
            }
        }
    }

    /// The events `entries` hold, in order; throws for a row that does not decode.
    static func events(_ entries: [Entry]) throws -> [WorkflowEvent] {
        try entries.map { entry in
            switch entry.kind {
            case "started": .started(try decode(StartRecord.self, entry.body))
            case "operation": .operation(try decode(OperationRecord.self, entry.body))
            case "attempt": .attempt(try decode(AttemptRecord.self, entry.body))
            case "resumed": .resumed(try decode(ResumeRecord.self, entry.body))
            case "inputsReplaced": .inputsReplaced(try decode(InputsRecord.self, entry.body))
            case "ended": .ended(try decode(EndRecord.self, entry.body))
            case "statusChanged": .statusChanged(try decode(WorkflowFields.self, entry.body))
            default: throw JournalError(kind: entry.kind)
            }
        }
    }

    /// The status change an attempt implies.
    static func implied(by attempt: AttemptRecord) -> WorkflowFields {
        var delta = WorkflowFields()
        delta.recoveryAttempts = Int64(attempt.attempt)
        delta.executorID = attempt.executorID
        delta.updatedAt = attempt.at
        return delta
    }

    /// The status change an end implies.
    static func implied(by end: EndRecord) -> WorkflowFields {
        var delta = WorkflowFields()
        delta.status = WorkflowStatus(rawValue: end.status)
        delta.updatedAt = end.completedAt
        if let error = end.error { delta.attributes["error"] = error.name }
        return delta
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    /// A journal row of a kind this build does not know.
    struct JournalError: Error, CustomStringConvertible {
        var kind: String
        var description: String { "a journal row of unknown kind \(kind)" }
    }
}

extension PostgresBindings {
    /// Appends an export value as a bind (text, bigint, double, boolean or NULL).
    mutating func append(_ value: SQLValue) {
        switch value {
        case .null: appendNull()
        case .text(let text): append(text)
        case .integer(let integer): append(integer)
        case .real(let real): append(real)
        case .boolean(let boolean): append(boolean)
        }
    }
}

extension DBOSRow {
    /// An `INSERT` of this row into schema `schema` that replaces the row with the same key.
    func upsert(into schema: String) -> PostgresQuery {
        var binds = PostgresBindings(capacity: values.count)
        for value in values { binds.append(value) }
        let columns = table.columns.map(\.quotedIdentifier).joined(separator: ", ")
        let placeholders = (1...values.count).map { "$\($0)" }.joined(separator: ", ")
        let key = table.conflictKey.map(\.quotedIdentifier).joined(separator: ", ")
        let updates = table.columns.filter { !table.conflictKey.contains($0) }
            .map { "\($0.quotedIdentifier) = EXCLUDED.\($0.quotedIdentifier)" }.joined(separator: ", ")
        let action = updates.isEmpty ? "DO NOTHING" : "DO UPDATE SET \(updates)"
        return PostgresQuery(
            unsafeSQL: "INSERT INTO \(schema).\(table.name) (\(columns)) VALUES (\(placeholders)) "
                + "ON CONFLICT (\(key)) \(action)",
            binds: binds)
    }
}

extension String {
    /// This column name as a quoted SQL identifier (`offset` is a keyword).
    fileprivate var quotedIdentifier: String { "\"\(self)\"" }
}
