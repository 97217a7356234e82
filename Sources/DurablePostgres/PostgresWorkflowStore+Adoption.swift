import DurableExport
import DurableStorage
import PostgresNIO

/// Rows DBOS's own writers created for swift-durable's workflows: a `DBOSClient.enqueue` (or
/// DBOS's `enqueue_workflow` function) of a Swift workflow by name, a `DBOSClient.send` (or
/// `send_message`) to a Swift workflow. They have no journal or inbox position; adopting them
/// gives them one, so an executor serves them like its own. Only `portable_json` rows are
/// adopted, and only workflows enqueued for this store's application name (rows of other
/// applications, or of none, are DBOS apps' to run).
extension PostgresWorkflowStore {
    /// Adopts the waiting rows of `queue` a DBOS writer enqueued for this application, in the
    /// caller's transaction (a dequeue, holding the queue's lock).
    func adoptEnqueued(queue: String, on connection: PostgresConnection) async throws {
        let rows = try await connection.query(
            """
            SELECT ws.workflow_uuid, COALESCE(ws.name, ''), ws.status, ws.created_at, ws.updated_at,
              ws.application_version, ws.priority::bigint, ws.deduplication_id, ws.queue_partition_key,
              ws.workflow_timeout_ms, ws.workflow_deadline_epoch_ms, ws.delay_until_epoch_ms,
              COALESCE(wi.inputs, ws.inputs)
            FROM \(unescaped: s).workflow_status ws
            LEFT JOIN \(unescaped: s).durable_workflows dw USING (workflow_uuid)
            LEFT JOIN \(unescaped: s).workflow_input wi USING (workflow_uuid)
            WHERE ws.queue_name = \(queue) AND ws.status IN ('ENQUEUED', 'DELAYED') AND dw.workflow_uuid IS NULL
              AND ws.serialization = 'portable_json' AND ws.application_name = \(options.applicationName)
            ORDER BY ws.created_at LIMIT 100 FOR NO KEY UPDATE OF ws SKIP LOCKED
            """, logger: logger
        ).collect()
        for row in rows {
            let (
                id, name, status, createdAt, updatedAt, version, priority, deduplication, partition, timeout, deadline,
                delay, inputs
            ) = try row.decode(
                (
                    String, String, String, Int64, Int64, String?, Int64, String?, String?, Int64?, Int64?, Int64?,
                    String?
                ).self)
            let sequence = try await connection.query(
                "SELECT nextval(\(schema.dbos.qualified("durable_enqueue_seq"))::regclass)", logger: logger
            ).collect()
            var fields = WorkflowFields()
            fields.workflowID = id
            fields.status = WorkflowStatus(rawValue: status)
            fields.name = name
            fields.queueName = queue
            fields.applicationVersion = version ?? ""
            fields.createdAt = createdAt
            fields.updatedAt = updatedAt
            fields.priority = priority
            fields.deduplicationID = deduplication
            fields.partitionKey = partition
            fields.timeoutMilliseconds = timeout
            fields.deadline = deadline
            fields.delayUntil = delay
            fields.recoveryAttempts = 0
            fields.enqueueSequence = try sequence.first?.decode(Int64.self)
            let start = StartRecord(
                name: name, inputs: inputs ?? DBOSMapping.emptyInputs, applicationVersion: version ?? "",
                executorID: "dbos", createdAt: createdAt, deadline: deadline)
            _ = try await connection.query(
                "INSERT INTO \(unescaped: s).durable_workflows (workflow_uuid, fields) VALUES (\(id), '{}')",
                logger: logger)
            _ = try await record(
                [.statusChanged(fields), .started(start)], of: id, after: 0, fields: WorkflowFields(), on: connection)
        }
    }

    /// Gives the messages a DBOS writer sent to workflow `id` positions in its inbox (after
    /// everything there), in the order they were sent. A message whose ID is `<key>::<id>` (DBOS's
    /// form for a send with an idempotency key, and swift-durable's own) has the item ID `<key>`.
    func adoptMessages(to id: String) async throws {
        let suffix = "::" + id
        let foreign = try await query(
            """
            SELECT n.message_uuid, n.topic, n.message, n.created_at_epoch_ms FROM \(unescaped: s).notifications n
            WHERE n.destination_uuid = \(id) AND n.serialization = 'portable_json'
              AND NOT EXISTS (
                SELECT 1 FROM \(unescaped: s).durable_inbox i WHERE i.destination_uuid = \(id)
                  AND i.item_id = CASE WHEN right(n.message_uuid, char_length(\(suffix))) = \(suffix)
                                       THEN left(n.message_uuid, char_length(n.message_uuid) - char_length(\(suffix)))
                                       ELSE n.message_uuid END)
            ORDER BY n.created_at_epoch_ms, n.message_uuid
            """)
        guard !foreign.isEmpty else { return }
        var items: [InboxItem] = []
        for row in foreign {
            let (uuid, topic, value, sentAt) = try row.decode((String, String?, String, Int64).self)
            let itemID = uuid.hasSuffix(suffix) ? String(uuid.dropLast(suffix.count)) : uuid
            let message = InboxMessage(
                id: itemID, topic: topic == DBOSMapping.nullTopic ? nil : topic, value: value, sentAt: sentAt)
            items.append(.message(message))
        }
        let bodies = try items.map(Self.encode)
        let ids = items.map(\.id)
        let count = Int64(items.count)
        try await transaction { connection in
            _ = try await connection.query(
                "SELECT 1 FROM \(unescaped: self.s).workflow_status WHERE workflow_uuid = \(id) FOR KEY SHARE",
                logger: self.logger)
            let rows = try await connection.query(
                """
                UPDATE \(unescaped: self.s).durable_workflows SET inbox_seq = inbox_seq + \(count)
                WHERE workflow_uuid = \(id) RETURNING inbox_seq
                """, logger: self.logger
            ).collect()
            guard let last = try rows.first?.decode(Int64.self) else { return }  // not one of ours
            _ = try await connection.query(
                """
                INSERT INTO \(unescaped: self.s).durable_inbox (destination_uuid, seq, item_id, body)
                SELECT \(id), \(last - count) + e.o, e.i, e.b
                FROM unnest(\(ids)::text[], \(bodies)::text[]) WITH ORDINALITY AS e(i, b, o)
                ON CONFLICT (destination_uuid, item_id) DO NOTHING
                """, logger: self.logger)
        }
    }
}
