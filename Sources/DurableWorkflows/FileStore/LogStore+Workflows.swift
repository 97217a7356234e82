import DurableLog
import DurableStorage

extension LogStore {
    /// Creates workflow `id` with its first `events` (a `.started` first) and status `fields`,
    /// holding its lease. Returns nil if a workflow with that ID exists (the ID is idempotent).
    func createWorkflow(
        _ id: String, fields: WorkflowFields, events: [WorkflowEvent]
    ) async throws
        -> FileWorkflowLease?
    {
        let records = try WorkflowEventCodec.records(for: events)
        do throws(StorageError) {
            return FileWorkflowLease(try await createLog(name: id, fields: fields, records: records))
        } catch {
            if error.code == .alreadyExists { return nil }
            throw error
        }
    }

    /// Takes workflow `id`'s lease and reads its history (throws `leaseHeld` if a live executor
    /// holds it, `quarantined` if its log is damaged).
    func claimWorkflow(_ id: String) async throws(StorageError) -> (lease: FileWorkflowLease, records: [LogRecord]) {
        let opened = try await openLog(name: id)
        return (FileWorkflowLease(opened.writer), opened.records)
    }
}
