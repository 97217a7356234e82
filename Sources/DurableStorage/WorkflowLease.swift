/// The right to append to one workflow's history: whoever holds the lease runs the workflow.
///
/// A store hands out at most one live lease per workflow at a time, across every process that
/// shares it. The file backend holds an open-file-description lock on the workflow's log (the
/// kernel drops it when the process dies); a database backend records the owning executor and
/// rejects an append from any other. An engine whose append fails stops running the workflow
/// without recording anything more: the workflow stays pending for whoever owns it.
public protocol WorkflowLease: Sendable {
    /// The workflow this lease is for.
    var workflowID: String { get }

    /// Appends `events` durably and atomically (all or none), in order, after every event
    /// appended before. Returns once they would survive a crash of the process and the machine.
    func append(_ events: [WorkflowEvent]) async throws

    /// Gives the lease up (idempotent). Appending after release is an error.
    func release()
}
