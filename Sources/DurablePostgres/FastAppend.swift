import DurableExport
import DurableStorage
import PostgresNIO

/// The commonest append, operations that change no status field and need no DBOS rows but
/// their `operation_outputs` row (steps, sleeps, sends, children, `now`, `uuid`, ...), as one
/// autocommit statement: the fencing check, the journal rows, the journal position and the
/// operation rows in data-modifying CTEs. One round trip and one commit, as DBOS's own
/// `record_operation_result` takes; every other append is a transaction of several statements.
struct FastAppend {
    private var sql = ""
    private var binds = PostgresBindings()
    private var count = 0

    /// Operations whose DBOS rows go beyond `operation_outputs` (events, streams, consumed messages).
    private static let projectedFurther: Set<String> = ["setEvent", "writeStream", "closeStream", "recv"]

    /// The statement appending `events` to `id` under `token`, or nil when they need the full path.
    static func query(
        _ events: [WorkflowEvent], of id: String, token: String, schema s: String, applicationName: String
    ) throws -> PostgresQuery? {
        var operations: [OperationRecord] = []
        for event in events {
            guard case .operation(let operation) = event, !projectedFurther.contains(operation.kind) else { return nil }
            operations.append(operation)
        }
        guard !operations.isEmpty else { return nil }
        let entries = try Journal.entries(for: events)
        var q = FastAppend()
        let (idBind, tokenBind) = (q.bind(id), q.bind(token))
        q.sql = """
            WITH owner AS (SELECT dw.event_seq FROM \(s).workflow_status ws
                JOIN \(s).durable_workflows dw USING (workflow_uuid)
                WHERE ws.workflow_uuid = \(idBind) AND ws.owner_xid = \(tokenBind) AND dw.lease_token = \(tokenBind)
                FOR NO KEY UPDATE OF ws, dw),
            journal AS (INSERT INTO \(s).durable_events (workflow_uuid, seq, kind, body)
                SELECT \(idBind), owner.event_seq + e.o, e.k, e.b
                FROM owner, unnest(\(q.bind(entries.map(\.kind)))::text[], \(q.bind(entries.map(\.body)))::text[])
                  WITH ORDINALITY AS e(k, b, o)),
            position AS (UPDATE \(s).durable_workflows dw SET event_seq = owner.event_seq + \(q.bind(Int64(entries.count)))
                FROM owner WHERE dw.workflow_uuid = \(idBind))
            """
        let options = DBOSMappingOptions(applicationName: applicationName)
        for (index, operation) in operations.enumerated() {
            let row = try DBOSMapping.operationRow(operation, of: id, options: options)
            let values = row.values.map { q.bind($0) }.joined(separator: ", ")
            let columns = row.table.columns.map { "\"\($0)\"" }.joined(separator: ", ")
            let updates = row.table.columns.filter { !row.table.conflictKey.contains($0) }
                .map { "\"\($0)\" = EXCLUDED.\"\($0)\"" }.joined(separator: ", ")
            q.sql += """
                ,
                operation\(index) AS (INSERT INTO \(s).operation_outputs (\(columns)) SELECT \(values) FROM owner
                    ON CONFLICT (workflow_uuid, function_id) DO UPDATE SET \(updates))
                """
        }
        q.sql += "\nSELECT count(*) FROM owner"
        return PostgresQuery(unsafeSQL: q.sql, binds: q.binds)
    }

    private mutating func placeholder() -> String {
        count += 1
        return "$\(count)"
    }

    private mutating func bind(_ value: String) -> String {
        binds.append(value)
        return placeholder()
    }

    private mutating func bind(_ value: Int64) -> String {
        binds.append(value)
        return placeholder()
    }

    private mutating func bind(_ value: [String]) -> String {
        binds.append(value)
        return placeholder()
    }

    /// A value of an export row, typed as its column expects (an untyped NULL would be text).
    private mutating func bind(_ value: SQLValue) -> String {
        binds.append(value)
        let name = placeholder()
        switch value {
        case .integer: return name + "::bigint"
        case .boolean: return name + "::boolean"
        case .real: return name + "::double precision"
        case .text, .null: return name + "::text"
        }
    }
}
