/// What any process may put in a workflow's inbox for the workflow (or its owner) to read:
/// messages for `recv`, and control requests its owner honours.
public enum InboxItem: Sendable, Equatable {
    /// A message sent to the workflow.
    case message(InboxMessage)
    /// A request to the workflow's owner (a cancellation).
    case control(ControlRequest)

    /// The item's ID, unique in its inbox: delivering an item whose ID is there already is a no-op.
    public var id: String {
        switch self {
        case .message(let message): message.id
        case .control(let control): control.id
        }
    }
}

/// A message sent to a workflow, as its inbox keeps it.
public struct InboxMessage: Codable, Sendable, Equatable {
    /// The message's ID: its idempotency key, or `<sender>-<position>` for a send from a workflow.
    public var id: String
    /// The topic (`nil` for the default topic).
    public var topic: String?
    /// The value as JSON text.
    public var value: String
    /// When it was sent, Unix ms.
    public var sentAt: Int64

    /// Creates a message.
    public init(id: String, topic: String?, value: String, sentAt: Int64) {
        self.id = id
        self.topic = topic
        self.value = value
        self.sentAt = sentAt
    }
}

/// A request, put in a workflow's inbox by any process, that the workflow's owner honours at its
/// next operation. A resume voids the requests before it (``ResumeRecord/clearedControls``).
public struct ControlRequest: Codable, Sendable, Equatable {
    /// The request's ID.
    public var id: String
    /// What is asked: ``cancel``.
    public var action: String
    /// When, Unix ms.
    public var at: Int64

    /// The action that cancels the workflow.
    public static let cancel = "cancel"

    /// Creates a request.
    public init(id: String, action: String, at: Int64) {
        self.id = id
        self.action = action
        self.at = at
    }
}
