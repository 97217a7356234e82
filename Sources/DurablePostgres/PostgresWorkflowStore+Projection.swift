import DurableExport
import DurableStorage
import DurableWorkflows
import PostgresNIO

/// Recording events: the journal rows, and the DBOS rows each event means, as DBOS 3.4 writes
/// them (the `BackendDesign` article's projection table), in the caller's transaction.
extension PostgresWorkflowStore {
    /// Records `events` of workflow `id` after journal position `after`, on top of its `fields`,
    /// and returns the fields they fold to.
    func record(
        _ events: [WorkflowEvent], of id: String, after: Int64, fields: WorkflowFields,
        on connection: PostgresConnection
    ) async throws -> WorkflowFields {
        let expanded = Journal.expanded(events)
        let entries = try Journal.entries(for: expanded)
        _ = try await connection.query(
            """
            INSERT INTO \(unescaped: s).durable_events (workflow_uuid, seq, kind, body)
            SELECT \(id), \(after) + e.o, e.k, e.b
            FROM unnest(\(entries.map(\.kind))::text[], \(entries.map(\.body))::text[]) WITH ORDINALITY AS e(k, b, o)
            """, logger: logger)
        var history = WorkflowHistory(workflowID: id)
        history.fields = fields
        history.apply(expanded)
        let folded = history.fields
        for event in expanded { try await project(event, of: id, on: connection) }
        let seq = after + Int64(entries.count)
        // Only status changes and resumes change the fields (ends and attempts are expanded).
        guard expanded.contains(where: { if case .operation = $0 { false } else { true } }) else {
            _ = try await connection.query(
                "UPDATE \(unescaped: s).durable_workflows SET event_seq = \(seq) WHERE workflow_uuid = \(id)",
                logger: logger)
            return folded
        }
        try await writeStatus(folded, of: id, on: connection)
        _ = try await connection.query(
            """
            UPDATE \(unescaped: s).durable_workflows SET event_seq = \(seq),
              fields = \(try Journal.encode(folded)), enqueue_seq = \(folded.enqueueSequence)
            WHERE workflow_uuid = \(id)
            """, logger: logger)
        return folded
    }

    /// Writes DBOS's status columns from a workflow's folded fields.
    private func writeStatus(_ f: WorkflowFields, of id: String, on connection: PostgresConnection) async throws {
        let status = f.status ?? .pending
        let holdsDeduplication =
            f.corruption == nil
            && (f.isDebounced == true ? status == .enqueued || status == .delayed : !status.isTerminal)
        let version = f.applicationVersion.flatMap { $0.isEmpty ? nil : $0 }
        _ = try await connection.query(
            """
            UPDATE \(unescaped: s).workflow_status SET status = \(status.rawValue), name = \(f.name),
              queue_name = \(f.queueName), application_version = \(version), executor_id = \(f.executorID),
              created_at = COALESCE(\(f.createdAt), created_at), updated_at = COALESCE(\(f.updatedAt), updated_at),
              started_at_epoch_ms = \(f.startedAt), parent_workflow_id = \(f.parentWorkflowID),
              recovery_attempts = \(f.recoveryAttempts ?? 0), priority = \(f.priority ?? 0),
              deduplication_id = \(holdsDeduplication ? f.deduplicationID : nil),
              queue_partition_key = \(f.partitionKey), workflow_timeout_ms = \(f.timeoutMilliseconds),
              workflow_deadline_epoch_ms = \(f.deadline), delay_until_epoch_ms = \(f.delayUntil),
              is_debounced = \(f.isDebounced ?? false), debounce_deadline_epoch_ms = \(f.debounceDeadline),
              forked_from = \(f.forkedFrom),
              completed_at = \(status.isTerminal ? f.updatedAt ?? f.createdAt : nil)
            WHERE workflow_uuid = \(id)
            """, logger: logger)
    }

    /// The DBOS rows one event means.
    private func project(_ event: WorkflowEvent, of id: String, on connection: PostgresConnection) async throws {
        switch event {
        case .started, .attempt:
            break  // the insert wrote the inputs; an attempt changes status columns only
        case .operation(let operation):
            try await project(operation, of: id, on: connection)
        case .resumed(let resume):
            _ = try await connection.query(
                "DELETE FROM \(unescaped: s).workflow_output WHERE workflow_uuid = \(id)", logger: logger)
            if let cut = resume.fromStep { try await rewind(id, from: cut, on: connection) }
        case .inputsReplaced(let replaced):
            _ = try await connection.query(
                "UPDATE \(unescaped: s).workflow_input SET inputs = \(replaced.inputs) WHERE workflow_uuid = \(id)",
                logger: logger)
        case .ended(let end):
            guard end.output != nil || end.error != nil else { return }
            let error = try end.error.map(DBOSMapping.encode)
            _ = try await connection.query(
                """
                INSERT INTO \(unescaped: s).workflow_output (workflow_uuid, output, error, retention_timestamp)
                VALUES (\(id), \(end.output), \(error), \(end.completedAt))
                ON CONFLICT (workflow_uuid) DO UPDATE SET output = EXCLUDED.output, error = EXCLUDED.error,
                  retention_timestamp = EXCLUDED.retention_timestamp
                """, logger: logger)
        case .statusChanged(let delta):
            if let source = delta.forkedFrom {
                _ = try await connection.query(
                    "UPDATE \(unescaped: s).workflow_status SET was_forked_from = true WHERE workflow_uuid = \(source)",
                    logger: logger)
            }
        }
    }

    private func project(_ operation: OperationRecord, of id: String, on connection: PostgresConnection) async throws {
        let options = DBOSMappingOptions(applicationName: options.applicationName)
        _ = try await connection.query(
            try DBOSMapping.operationRow(operation, of: id, options: options).upsert(into: s), logger: logger)
        let serialization = DBOSMapping.serialization
        switch operation.kind {
        case "setEvent":
            guard let key = operation.key else { return }
            let value = operation.output ?? "null"
            _ = try await connection.query(
                """
                INSERT INTO \(unescaped: s).workflow_events (workflow_uuid, key, value, serialization)
                VALUES (\(id), \(key), \(value), \(serialization))
                ON CONFLICT (workflow_uuid, key) DO UPDATE SET value = EXCLUDED.value
                """, logger: logger)
            _ = try await connection.query(
                """
                INSERT INTO \(unescaped: s).workflow_events_history (workflow_uuid, function_id, key, value, serialization)
                VALUES (\(id), \(operation.functionID), \(key), \(value), \(serialization))
                ON CONFLICT (workflow_uuid, function_id, key) DO UPDATE SET value = EXCLUDED.value
                """, logger: logger)
        case "writeStream", "closeStream":
            guard let key = operation.key else { return }
            let value = operation.kind == "closeStream" ? DBOSMapping.streamClosedSentinel : operation.output ?? "null"
            _ = try await connection.query(
                """
                INSERT INTO \(unescaped: s).streams (workflow_uuid, key, value, "offset", function_id, serialization)
                VALUES (\(id), \(key), \(value),
                  COALESCE((SELECT max("offset") + 1 FROM \(unescaped: s).streams
                            WHERE workflow_uuid = \(id) AND key = \(key)), 0),
                  \(operation.functionID), \(serialization))
                """, logger: logger)
        case "recv":
            guard let key = operation.key else { return }
            _ = try await connection.query(
                """
                UPDATE \(unescaped: s).notifications SET consumed = true, consumed_by_function_id = \(operation.functionID)
                WHERE message_uuid = \(Self.messageUUID(key, to: id))
                """, logger: logger)
        default:
            break
        }
    }

    /// What DBOS's `rewind_workflow` does at `cut`: the operations, event values and stream
    /// items recorded from it on are void; messages consumed from it on are unconsumed (DBOS
    /// deletes them; swift-durable's rewind delivers them again).
    private func rewind(_ id: String, from cut: Int, on connection: PostgresConnection) async throws {
        let cut = Int64(cut)
        for table in ["operation_outputs", "workflow_events_history", "streams"] {
            _ = try await connection.query(
                "DELETE FROM \(unescaped: s).\(unescaped: table) WHERE workflow_uuid = \(id) AND function_id >= \(cut)",
                logger: logger)
        }
        _ = try await connection.query(
            "DELETE FROM \(unescaped: s).workflow_events WHERE workflow_uuid = \(id)", logger: logger)
        _ = try await connection.query(
            """
            INSERT INTO \(unescaped: s).workflow_events (workflow_uuid, key, value, serialization)
            SELECT DISTINCT ON (key) workflow_uuid, key, value, serialization
            FROM \(unescaped: s).workflow_events_history WHERE workflow_uuid = \(id) ORDER BY key, function_id DESC
            """, logger: logger)
        _ = try await connection.query(
            """
            UPDATE \(unescaped: s).notifications SET consumed = false, consumed_by_function_id = NULL
            WHERE destination_uuid = \(id) AND consumed_by_function_id >= \(cut)
            """, logger: logger)
    }

    /// The `notifications.message_uuid` of message `messageID` to workflow `destination`: DBOS's
    /// own form for a message sent with an idempotency key, so a DBOS `send` with the same key
    /// and swift-durable's are one message.
    static func messageUUID(_ messageID: String, to destination: String) -> String {
        messageID + "::" + destination
    }
}
