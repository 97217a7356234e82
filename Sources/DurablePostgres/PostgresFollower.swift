import DurableStorage
import PostgresNIO
import Synchronization

/// A follower of a workflow's journal or inbox in a ``PostgresWorkflowStore``: a cursor on the
/// position column, woken by the store's board (its own commits, other processes' `NOTIFY`) and
/// at the store's polling interval.
final class PostgresFollower<Element: Sendable>: StoreFollower {
    enum Kind {
        case history
        case inbox
    }

    private let store: PostgresWorkflowStore
    private let id: String
    private let kind: Kind
    private let key: String
    private struct State {
        var cursor: Int64 = 0
        /// The board's version of the key when the latest read began.
        var seen: UInt64 = 0
        /// A wait since the latest read ended at the polling interval: what DBOS writers did
        /// meanwhile reaches no board, so the follower may have appends.
        var pollDue = false
    }
    private let state = Locked(State())

    init(store: PostgresWorkflowStore, id: String, kind: Kind) {
        self.store = store
        self.id = id
        self.kind = kind
        key = kind == .history ? WakeKey.history(id) : WakeKey.inbox(id)
    }

    func read() async throws -> StoreBatch<Element> {
        let version = store.board.version(key)
        let cursor = state.withLock { state in
            state.seen = version
            state.pollDue = false
            return state.cursor
        }
        let (store, id, kind) = (self.store, self.id, self.kind)
        let (next, elements): (Int64, [Element]) = try await store.run(id) {
            if let reason = try await store.corruption(of: id) {
                throw WorkflowStoreError(.damaged, "workflow \(id) is quarantined: \(reason)", workflowID: id)
            }
            switch kind {
            case .history:
                let rows = try await store.client.withConnection { connection in
                    try await store.journalRows(of: id, after: cursor, on: connection)
                }
                return (rows.last?.0 ?? cursor, rows.flatMap(\.1).compactMap { $0 as? Element })
            case .inbox:
                let items = try await store.inboxItems(of: id, after: cursor)
                return (items.last?.0 ?? cursor, items.compactMap { $0.1 as? Element })
            }
        }
        state.withLock { $0.cursor = max($0.cursor, next) }
        return StoreBatch(elements)
    }

    func waitForAppend(timeout: Duration) async {
        let seen = state.withLock { $0.seen }
        let poll = store.options.pollInterval
        await store.board.wait(key, after: seen, timeout: min(timeout, poll))
        if timeout > poll { state.withLock { $0.pollDue = true } }
    }

    func mayHaveAppends() -> Bool {
        let (seen, pollDue) = state.withLock { ($0.seen, $0.pollDue) }
        return pollDue || store.board.version(key) != seen
    }
}
