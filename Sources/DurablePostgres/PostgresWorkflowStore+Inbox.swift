import DurableExport
import DurableStorage
import PostgresNIO

/// Inboxes: every item in `durable_inbox` at its position in the destination's delivery order,
/// and each message also in DBOS's `notifications`, where DBOS's tools and clients see it.
extension PostgresWorkflowStore {
    @discardableResult
    public func deliver(_ item: InboxItem, to id: String) async throws -> Bool {
        try await run(id) { [self] in
            guard try await insertInboxItem(item, to: id) else { return false }
            try await notify([WakeKey.inbox(id)])
            return true
        }
    }

    /// Puts `item` in `id`'s inbox at its next position unless an item with its ID is there;
    /// returns whether it did.
    func insertInboxItem(_ item: InboxItem, to id: String) async throws -> Bool {
        let body = try Self.encode(item)
        do {
            try await transaction { connection in
                // The status row first (key share, as the inbox's foreign key takes anyway), as
                // every writer locks it before the journal row; then the journal row's lock
                // orders deliveries to the workflow until commit.
                _ = try await connection.query(
                    "SELECT 1 FROM \(unescaped: self.s).workflow_status WHERE workflow_uuid = \(id) FOR KEY SHARE",
                    logger: self.logger)
                let rows = try await connection.query(
                    """
                    UPDATE \(unescaped: self.s).durable_workflows SET inbox_seq = inbox_seq + 1
                    WHERE workflow_uuid = \(id) RETURNING inbox_seq
                    """, logger: self.logger
                ).collect()
                guard let seq = try rows.first?.decode(Int64.self) else {
                    throw WorkflowStoreError(.notFound, "no workflow has the ID \(id)", workflowID: id)
                }
                let inserted = try await connection.query(
                    """
                    INSERT INTO \(unescaped: self.s).durable_inbox (destination_uuid, seq, item_id, body)
                    VALUES (\(id), \(seq), \(item.id), \(body))
                    ON CONFLICT (destination_uuid, item_id) DO NOTHING RETURNING 1
                    """, logger: self.logger
                ).collect()
                guard !inserted.isEmpty else { throw AlreadyDelivered() }
                if case .message(let message) = item {
                    _ = try await connection.query(
                        """
                        INSERT INTO \(unescaped: self.s).notifications (message_uuid, destination_uuid, topic, message,
                          created_at_epoch_ms, serialization)
                        VALUES (\(Self.messageUUID(message.id, to: id)), \(id),
                          \(message.topic ?? DBOSMapping.nullTopic), \(message.value), \(message.sentAt),
                          \(DBOSMapping.serialization))
                        ON CONFLICT (message_uuid) DO NOTHING
                        """, logger: self.logger)
                }
            }
        } catch is AlreadyDelivered {
            return false
        }
        return true
    }

    public func inbox(of id: String) async throws -> [InboxItem] {
        try await run(id) { [self] in try await inboxItems(of: id, after: 0).map(\.1) }
    }

    /// The items of `id`'s inbox after position `after`, with their positions (an item that does
    /// not decode is skipped, as the protocol says).
    func inboxItems(of id: String, after: Int64) async throws -> [(Int64, InboxItem)] {
        try await adoptMessages(to: id)
        try await checkLease(of: id)
        let rows = try await client.query(
            """
            SELECT seq, body FROM \(unescaped: s).durable_inbox
            WHERE destination_uuid = \(id) AND seq > \(after) ORDER BY seq
            """, logger: logger)
        var items: [(Int64, InboxItem)] = []
        for try await (seq, body) in rows.decode((Int64, String).self) {
            if let item = try? Self.decodeItem(body) { items.append((seq, item)) }
        }
        return items
    }

    public func follow(_ id: String) async throws -> any StoreFollower<WorkflowEvent> {
        try await run(id) { [self] in PostgresFollower(store: self, id: id, kind: .history) }
    }

    public func followInbox(of id: String) async throws -> any StoreFollower<InboxItem> {
        try await run(id) { [self] in PostgresFollower(store: self, id: id, kind: .inbox) }
    }

    public func wake(queue: String) async throws {
        try await run(nil) { [self] in try await notify([QueueKey.queue(queue)]) }
    }

    /// The quarantine reason of `id`, if it is quarantined.
    func corruption(of id: String) async throws -> String? {
        let rows = try await query(
            "SELECT corruption FROM \(unescaped: s).durable_workflows WHERE workflow_uuid = \(id)")
        return try rows.first?.decode(String?.self)
    }

    private struct Stored: Codable {
        var message: InboxMessage?
        var control: ControlRequest?
    }

    static func encode(_ item: InboxItem) throws -> String {
        switch item {
        case .message(let message): try Journal.encode(Stored(message: message))
        case .control(let control): try Journal.encode(Stored(control: control))
        }
    }

    static func decodeItem(_ body: String) throws -> InboxItem? {
        let stored = try Journal.decode(Stored.self, body)
        if let message = stored.message { return .message(message) }
        return stored.control.map(InboxItem.control)
    }
}

/// A delivery whose item ID the inbox holds: the transaction rolls back (undoing the position).
struct AlreadyDelivered: Error {}
