import DurableStorage
import PostgresNIO
import Synchronization

/// A lease on one workflow in a ``PostgresWorkflowStore``: the token in DBOS's `owner_xid`.
///
/// Every append locks the workflow's row and checks the token in the same transaction that
/// records the events, so an executor whose lease was taken over (it was taken for dead) records
/// nothing more: its append fails as ``WorkflowStoreError/Code/ownershipLost``.
final class PostgresLease: WorkflowLease {
    let workflowID: String
    private let store: PostgresWorkflowStore
    private let token: String
    private struct State {
        var fields: WorkflowFields
        var released = false
    }
    private let state: Locked<State>

    init(store: PostgresWorkflowStore, workflowID: String, token: String, fields: WorkflowFields) {
        self.store = store
        self.workflowID = workflowID
        self.token = token
        state = Locked(State(fields: fields))
    }

    func append(_ events: [WorkflowEvent]) async throws {
        let id = workflowID
        let (fields, released) = state.withLock { ($0.fields, $0.released) }
        guard !released else {
            throw WorkflowStoreError(.ownershipLost, "the lease on workflow \(id) was given up", workflowID: id)
        }
        if events.isEmpty { return }
        let (store, token) = (self.store, self.token)
        let fast = try FastAppend.query(
            events, of: id, token: token, schema: store.s, applicationName: store.options.applicationName)
        let folded = try await store.run(id) {
            if let fast {
                let owned = try await store.query(fast).first?.decode(Int64.self)
                guard owned == 1 else {
                    try await store.recordForeignCancel(id, token: token, fields: fields)
                    throw WorkflowStoreError(
                        .ownershipLost, "another executor took workflow \(id) over, or a DBOS client cancelled it",
                        workflowID: id)
                }
                return fields  // operations only: no status field changed
            }
            do {
                return try await store.transaction { connection in
                    let rows = try await connection.query(
                        """
                        SELECT dw.event_seq FROM \(unescaped: store.s).workflow_status ws
                        JOIN \(unescaped: store.s).durable_workflows dw USING (workflow_uuid)
                        WHERE ws.workflow_uuid = \(id) AND ws.owner_xid = \(token) AND dw.lease_token = \(token)
                        FOR NO KEY UPDATE OF ws, dw
                        """, logger: store.logger
                    ).collect()
                    guard let seq = try rows.first?.decode(Int64.self) else {
                        throw WorkflowStoreError(
                            .ownershipLost, "another executor took workflow \(id) over", workflowID: id)
                    }
                    return try await store.record(events, of: id, after: seq, fields: fields, on: connection)
                }
            } catch let error as WorkflowStoreError where error.code == .ownershipLost {
                try await store.recordForeignCancel(id, token: token, fields: fields)
                throw error
            }
        }
        state.withLock { $0.fields = folded }
        var keys = [WakeKey.history(id)]
        if let queue = folded.queueName, events.contains(where: { if case .ended = $0 { true } else { false } }) {
            keys.append(QueueKey.queue(queue))
        }
        store.notifyInBackground(keys)
    }

    deinit {
        release()  // a lease dropped without release must not pin its workflow in this store
    }

    func release() {
        let (fields, first) = state.withLock { state -> (WorkflowFields, Bool) in
            defer { state.released = true }
            return (state.fields, !state.released)
        }
        guard first else { return }
        store.release(workflowID, token: token, queue: fields.queueName)
    }
}
