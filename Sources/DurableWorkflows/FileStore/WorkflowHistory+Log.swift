import DurableLog
import DurableStorage

extension WorkflowHistory {
    /// Decodes a log the file storage engine read (for tools that read files directly: `durable
    /// dump`, the exporter, tests that damage logs on purpose).
    public init(_ contents: LogContents) throws {
        try self.init(workflowID: contents.name ?? "", records: contents.records)
    }

    /// Decodes verified records of a workflow's log.
    init(workflowID: String, records: [LogRecord]) throws {
        self.init(workflowID: workflowID, events: try WorkflowEventCodec.events(from: records))
    }
}
