import DurableLog
import DurableStorage

/// How the file backend keeps inbox items: one record each, JSON, typed by kind.
enum InboxCodec {
    /// A message (``InboxMessage``).
    static let message = RecordType(rawValue: 0x20)
    /// A control request (``ControlRequest``).
    static let control = RecordType(rawValue: 0x21)

    /// The record type and payload that store `item`.
    static func record(for item: InboxItem) throws -> (type: RecordType, payload: [UInt8]) {
        switch item {
        case .message(let message): (Self.message, try WorkflowJSON.encode(message))
        case .control(let control): (Self.control, try WorkflowJSON.encode(control))
        }
    }

    /// The item `record` stores, or nil for a record type an inbox does not hold.
    static func item(from record: LogRecord) throws -> InboxItem? {
        switch record.type {
        case message: .message(try WorkflowJSON.decode(InboxMessage.self, from: record.payload))
        case control: .control(try WorkflowJSON.decode(ControlRequest.self, from: record.payload))
        default: nil
        }
    }

    /// The ID of the item `record` stores, without failing on a record that does not decode.
    static func itemID(of record: LogRecord) -> String? {
        switch record.type {
        case message: (try? WorkflowJSON.decode(InboxMessage.self, from: record.payload))?.id
        case control: (try? WorkflowJSON.decode(ControlRequest.self, from: record.payload))?.id
        default: nil
        }
    }
}

extension LogStore {
    /// The messages in workflow `id`'s inbox, in arrival order, read on the calling thread
    /// (for tools that run on a thread of their own; never call it from the cooperative pool).
    ///
    /// - Throws: a ``StorageError`` with code `corrupted` if the inbox is damaged.
    public func inboxMessagesBlocking(of id: String) throws -> [InboxMessage] {
        try readInboxBlocking(name: id).compactMap { record in
            guard case .message(let message) = try InboxCodec.item(from: record) else { return nil }
            return message
        }
    }
}
