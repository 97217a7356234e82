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
    /// holds it, `corrupted` if its log is damaged or, `refusingQuarantined`, quarantined).
    func claimWorkflow(
        _ id: String, refusingQuarantined: Bool = true
    ) async throws(StorageError) -> (lease: FileWorkflowLease, records: [LogRecord]) {
        let opened = try await openLog(name: id, refusingQuarantined: refusingQuarantined)
        return (FileWorkflowLease(opened.writer), opened.records)
    }
}
