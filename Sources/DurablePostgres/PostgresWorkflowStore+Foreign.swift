import DurableExport
import DurableStorage
import FoundationEssentials
import PostgresNIO

/// Reading workflows that DBOS apps (in Python, TypeScript, Go, Java) run in the same database:
/// they have no journal, so their fields come from DBOS's status columns and their history is
/// told from DBOS's rows (inputs, operations, outcome). They are listed, inspected and followed,
/// never claimed or recovered: they are their DBOS app's to run. Payloads another serialization
/// wrote (Python's pickle) are shown as a JSON string naming it.
extension PostgresWorkflowStore {
    /// The status columns a foreign workflow's fields come from, after its ID.
    static let statusColumns = """
        ws.status, ws.name, ws.queue_name, ws.application_version, ws.executor_id, ws.created_at, ws.updated_at,
        ws.started_at_epoch_ms, ws.parent_workflow_id, ws.recovery_attempts, ws.priority::bigint, ws.deduplication_id,
        ws.queue_partition_key, ws.workflow_timeout_ms, ws.workflow_deadline_epoch_ms, ws.delay_until_epoch_ms,
        ws.forked_from
        """

    /// The fields DBOS's columns of `row` (selected as ``statusColumns`` from `offset` on) say.
    static func foreignFields(_ row: PostgresRow, id: String, offset: Int) throws -> WorkflowFields {
        let cells = row.makeRandomAccess()
        func text(_ i: Int) throws -> String? { try cells[offset + i].decode(String?.self) }
        func number(_ i: Int) throws -> Int64? { try cells[offset + i].decode(Int64?.self) }
        var fields = WorkflowFields()
        fields.workflowID = id
        fields.status = try text(0).map(WorkflowStatus.init(rawValue:))
        fields.name = try text(1)
        fields.queueName = try text(2)
        fields.applicationVersion = try text(3) ?? ""
        fields.executorID = try text(4)
        fields.createdAt = try number(5)
        fields.updatedAt = try number(6)
        fields.startedAt = try number(7)
        fields.parentWorkflowID = try text(8)
        fields.recoveryAttempts = try number(9)
        fields.priority = try number(10)
        fields.deduplicationID = try text(11)
        fields.partitionKey = try text(12)
        fields.timeoutMilliseconds = try number(13)
        fields.deadline = try number(14)
        fields.delayUntil = try number(15)
        fields.forkedFrom = try text(16)
        return fields
    }

    /// The history DBOS's rows tell of foreign workflow `id`: its fields, its start, its
    /// operations in order and, once it ended, its end.
    func foreignHistory(of id: String, on connection: PostgresConnection) async throws -> [WorkflowEvent] {
        let statusRows = try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT ws.workflow_uuid, \(Self.statusColumns), ws.serialization, wi.inputs, wo.output, wo.error
                    FROM \(s).workflow_status ws LEFT JOIN \(s).workflow_input wi USING (workflow_uuid)
                    LEFT JOIN \(s).workflow_output wo USING (workflow_uuid) WHERE ws.workflow_uuid = $1
                    """, binds: Self.binds(id)), logger: logger
        ).collect()
        guard let row = statusRows.first else { return [] }
        let fields = try Self.foreignFields(row, id: id, offset: 1)
        let cells = row.makeRandomAccess()
        let serialization = try cells[18].decode(String?.self)
        let portable = serialization == DBOSMapping.serialization
        func payload(_ text: String?) -> String? {
            guard let text else { return nil }
            return portable ? text : "\"<\(serialization ?? "unknown") payload>\""
        }
        let createdAt = fields.createdAt ?? 0
        var events: [WorkflowEvent] = [
            .statusChanged(fields),
            .started(
                StartRecord(
                    name: fields.name ?? "",
                    inputs: payload(try cells[19].decode(String?.self)) ?? DBOSMapping.emptyInputs,
                    applicationVersion: fields.applicationVersion ?? "", executorID: fields.executorID ?? "",
                    createdAt: createdAt, deadline: fields.deadline)),
        ]
        let operations = try await connection.query(
            """
            SELECT function_id, function_name, output, error, child_workflow_id, started_at_epoch_ms,
              completed_at_epoch_ms, serialization
            FROM \(unescaped: s).operation_outputs WHERE workflow_uuid = \(id) ORDER BY function_id
            """, logger: logger)
        for try await (function, name, output, error, child, started, completed, rowSerialization) in operations.decode(
            (Int64, String, String?, String?, String?, Int64?, Int64?, String?).self)
        {
            let readable = rowSerialization == nil || rowSerialization == DBOSMapping.serialization
            events.append(
                .operation(
                    OperationRecord(
                        functionID: Int(function), name: name, kind: child == nil ? "step" : "child",
                        output: readable ? output : output.map { _ in "\"<\(rowSerialization!) payload>\"" },
                        error: error.map { Self.foreignError($0, readable: readable) },
                        startedAt: started ?? createdAt, completedAt: completed ?? started ?? createdAt, attempts: 1,
                        childWorkflowID: child)))
        }
        if let status = fields.status, status.isTerminal {
            let error = try cells[21].decode(String?.self).map { Self.foreignError($0, readable: portable) }
            events.append(
                .ended(
                    EndRecord(
                        status: status.rawValue, output: payload(try cells[20].decode(String?.self)), error: error,
                        completedAt: fields.updatedAt ?? createdAt)))
        }
        return events
    }

    /// A DBOS error column as an error: its portable object, or its serialization named.
    static func foreignError(_ text: String, readable: Bool) -> PortableError {
        if readable, let error = try? Journal.decode(PortableError.self, text) { return error }
        return PortableError(name: "DBOSError", message: readable ? text : "an error in another serialization")
    }

    static func binds(_ values: String...) -> PostgresBindings {
        var binds = PostgresBindings()
        for value in values { binds.append(value) }
        return binds
    }
}
