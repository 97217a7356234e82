import DurableStorage

/// Everything a lock-free reader learned from one log file.
public struct LogContents: Sendable {
    /// The log's key.
    public var key: LogKey
    /// The log file.
    public var path: String
    /// The workflow ID stored in the log's first record (`nil` if that record is unreadable).
    public var name: String?
    /// When the log was created, Unix ms (0 if the header is unreadable).
    public var createdAt: Int64
    /// The verified records, in order. For a torn or corrupted log, the valid prefix.
    public var records: [LogRecord]
    /// How the file ends.
    public var outcome: LogScan.Outcome
    /// The offset just after the last valid record.
    public var validEnd: Int
    /// The file's size when it was read.
    public var fileSize: Int

    /// The fold of every index update in the log: what the index should say about it.
    public var indexFields: IndexFields { IndexFields(folding: records) }

    /// The index entry this log implies, including the reason it is quarantined if it is corrupted.
    /// ``LogStore/rebuildIndex()`` publishes exactly these entries.
    public var indexEntry: IndexEntry {
        var entry = IndexEntry(
            key: key, fields: indexFields, logSeq: records.last(where: { $0.type == .indexUpdate })?.seq ?? 0)
        if case .corrupted(let reason) = outcome { entry.fields.corruption = reason }
        return entry
    }
}
