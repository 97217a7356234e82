import DurableStorage
import PostgresNIO
import Synchronization

/// What DBOS's own writers do to Swift workflows: `DBOSClient.cancel_workflow` (status
/// CANCELLED, the owner cleared) and `resume_workflow` (status ENQUEUED on the internal queue,
/// the owner cleared). Both leave swift-durable's journal as it was; the store records what they
/// did as events (an end, a resume) when it next meets the workflow: a claim, a dequeue, or the
/// append of an executor whose lease the cancel cleared. So DBOS clients cancel and resume Swift
/// workflows, and Swift's readers see it in the history.
extension PostgresWorkflowStore {
    /// The events that bring a journal whose fields fold to `fields` in line with DBOS's status
    /// column (`status`, last changed at `updatedAt`, queue `queue`); none while they agree.
    ///
    /// A resume voids `controls`, the cancel requests in the workflow's inbox.
    static func reconciliation(
        _ id: String, status: String?, updatedAt: Int64, queue: String?, fields: WorkflowFields,
        controls: [String] = []
    ) -> [WorkflowEvent] {
        guard let status, let recorded = fields.status, status != recorded.rawValue else { return [] }
        let dbos = WorkflowStatus(rawValue: status)
        if dbos == .cancelled, !recorded.isTerminal {
            let error = PortableError(
                name: "DBOSWorkflowCancelledError", message: "workflow \(id) was cancelled by a DBOS client")
            return [.ended(EndRecord(status: status, output: nil, error: error, completedAt: updatedAt))]
        }
        if dbos == .enqueued || dbos == .pending, recorded.isTerminal {
            var change = WorkflowFields()
            change.status = dbos
            change.queueName = queue
            change.recoveryAttempts = 0
            change.updatedAt = updatedAt
            return [
                .resumed(ResumeRecord(at: updatedAt, executorID: "dbos", clearedControls: controls)),
                .statusChanged(change),
            ]
        }
        return []
    }

    /// After an append found its lease gone: if no executor took the workflow over but a DBOS
    /// writer cancelled it (the owner cleared, the status CANCELLED), records the end it means,
    /// so whoever waits for the workflow sees it cancelled.
    func recordForeignCancel(_ id: String, token: String, fields: WorkflowFields) async throws {
        try await transaction { connection in
            let rows = try await connection.query(
                """
                SELECT ws.status, ws.updated_at, dw.event_seq FROM \(unescaped: self.s).workflow_status ws
                JOIN \(unescaped: self.s).durable_workflows dw USING (workflow_uuid)
                WHERE ws.workflow_uuid = \(id) AND ws.owner_xid IS NULL AND dw.lease_token = \(token)
                FOR NO KEY UPDATE OF ws, dw
                """, logger: self.logger
            ).collect()
            guard let row = rows.first else { return }
            let (status, updatedAt, seq) = try row.decode((String?, Int64, Int64).self)
            guard status == WorkflowStatus.cancelled.rawValue else { return }
            let fix = Self.reconciliation(id, status: status, updatedAt: updatedAt, queue: nil, fields: fields)
            guard !fix.isEmpty else { return }
            _ = try await self.record(fix, of: id, after: seq, fields: fields, on: connection)
            _ = try await connection.query(
                """
                UPDATE \(unescaped: self.s).durable_workflows SET lease_token = NULL, lease_instance = NULL
                WHERE workflow_uuid = \(id)
                """, logger: self.logger)
        }
        board.signal(WakeKey.history(id))
    }

    /// Throws ``WorkflowStoreError/Code/ownershipLost`` if this store holds workflow `id` but a DBOS
    /// client cleared its owner meanwhile (a cancel, or a resume, which makes it another
    /// execution's); after a cancel, first records the end it means. Called from the inbox reads
    /// of a workflow that waits, so the wait ends rather than outliving the cancel.
    func checkLease(of id: String) async throws {
        guard let token = state.withLock({ $0.leases[id] }) else { return }
        let rows = try await query(
            """
            SELECT ws.status, dw.fields FROM \(unescaped: s).workflow_status ws
            JOIN \(unescaped: s).durable_workflows dw USING (workflow_uuid)
            WHERE ws.workflow_uuid = \(id) AND ws.owner_xid IS NULL AND dw.lease_token = \(token)
            """)
        guard let row = rows.first else { return }
        let (status, text) = try row.decode((String?, String).self)
        if status == WorkflowStatus.cancelled.rawValue, let fields = try? Journal.decode(WorkflowFields.self, text) {
            try await recordForeignCancel(id, token: token, fields: fields)
        }
        throw WorkflowStoreError(
            .ownershipLost, "a DBOS client cancelled or resumed workflow \(id) while this process ran it",
            workflowID: id)
    }

    /// ``reconciliation(_:status:updatedAt:queue:fields:controls:)`` with the cancel requests of
    /// `id`'s inbox read on `connection` when it is a resume.
    func reconciliation(
        _ id: String, status: String?, updatedAt: Int64, queue: String?, fields: WorkflowFields,
        on connection: PostgresConnection
    ) async throws -> [WorkflowEvent] {
        let fix = Self.reconciliation(id, status: status, updatedAt: updatedAt, queue: queue, fields: fields)
        guard fix.contains(where: { if case .resumed = $0 { true } else { false } }) else { return fix }
        let rows = try await connection.query(
            "SELECT body FROM \(unescaped: s).durable_inbox WHERE destination_uuid = \(id) ORDER BY seq",
            logger: logger)
        var controls: [String] = []
        for try await body in rows.decode(String.self) {
            if case .control(let control)? = try? Self.decodeItem(body) { controls.append(control.id) }
        }
        return Self.reconciliation(
            id, status: status, updatedAt: updatedAt, queue: queue, fields: fields, controls: controls)
    }
}
