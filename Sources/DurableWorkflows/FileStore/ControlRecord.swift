import DurableLog

/// A request, written to a workflow's inbox by any process, that the workflow's owner honours
/// (today: `cancel`). A resume voids the requests it names.
struct ControlRecord: Codable, Sendable, Equatable {
    /// The request's ID.
    var id: String
    /// What is asked: `cancel`.
    var action: String
    /// When, Unix ms.
    var at: Int64

    /// The inbox record type of a control request.
    static let recordType = RecordType(rawValue: 0x21)
}
