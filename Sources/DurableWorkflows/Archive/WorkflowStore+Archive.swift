import DurableStorage

extension WorkflowStore {
    /// Workflow `id` (and, `withChildren`, every workflow it started, theirs, and so on) as an
    /// archive: each one's events, its fields as those events sum them, and its inbox.
    func archive(_ id: String, withChildren: Bool) async throws -> WorkflowArchive {
        let ids = [id] + (withChildren ? try await descendants(of: id).sorted() : [])
        var workflows: [ArchivedWorkflow] = []
        for workflowID in ids {
            // The fields from the same read as the events, so the two agree on a running workflow.
            let events = try await history(of: workflowID)
            let history = WorkflowHistory(workflowID: workflowID, events: events)
            let kept = events.filter { if case .statusChanged = $0 { false } else { true } }
            guard case .started = kept.first else {
                throw WorkflowError(
                    "cannot archive: the workflow's start record is missing", workflowID: workflowID,
                    code: .unreadableRecord)
            }
            workflows.append(
                ArchivedWorkflow(
                    workflowID: workflowID, fields: history.fields, events: kept, inbox: try await inbox(of: workflowID)
                ))
        }
        let version = workflows[0].fields.applicationVersion.flatMap { $0.isEmpty ? nil : $0 }
        return WorkflowArchive(rootWorkflowID: id, applicationVersion: version, workflows: workflows)
    }

    /// Brings every workflow of `archive` into this store, as it was: same IDs, events, fields and
    /// inbox (an unfinished one is recovered, or dequeued, by an executor of its version). Refused
    /// with ``ArchiveError/Code/alreadyExists``, before anything is written, if one is here
    /// already, unless `replacing` (a workflow here that has not ended, or that a live process
    /// holds, is never replaced). Returns the imported IDs.
    func importArchive(_ archive: WorkflowArchive, replacing: Bool) async throws -> [String] {
        let ids = archive.workflows.map(\.workflowID)
        guard Set(ids).count == ids.count else {
            throw ArchiveError(.damaged, "the archive holds a workflow twice")
        }
        var present: [String] = []
        for id in ids {
            guard let here = try await fields(of: id) else { continue }
            if replacing, !(here.status ?? .pending).isTerminal {
                throw WorkflowError(
                    "cannot replace the workflow: it has not ended (it is \(here.status ?? .pending))", workflowID: id,
                    code: .invalidState)
            }
            present.append(id)
        }
        if !present.isEmpty {
            guard replacing else {
                throw ArchiveError(
                    .alreadyExists,
                    "workflow \"\(present[0])\" is already here\(present.count > 1 ? " (and \(present.count - 1) more)" : ""); import with replacing to replace it",
                    workflowID: present[0])
            }
            let deleted = Set(try await delete(present))
            if let kept = present.first(where: { !deleted.contains($0) }) {
                throw WorkflowError(
                    "cannot replace the workflow: it has not ended, or a live executor holds it", workflowID: kept,
                    code: .invalidState)
            }
        }
        for workflow in archive.workflows {
            guard let lease = try await create(workflow.workflowID, fields: workflow.fields, events: workflow.events)
            else {
                throw ArchiveError(
                    .alreadyExists, "workflow \"\(workflow.workflowID)\" appeared here during the import",
                    workflowID: workflow.workflowID)
            }
            do {
                // The archived fields last: they are the sum, whatever the events imply on the way.
                try await lease.append([.statusChanged(workflow.fields)])
            } catch {
                lease.release()
                throw error
            }
            lease.release()
            for item in workflow.inbox { try await deliver(item, to: workflow.workflowID) }
        }
        return ids
    }
}

extension DurableClient {
    /// Workflow `id` (with `withChildren`, its descendants too) as a portable archive; write
    /// ``WorkflowArchive/encoded()`` to a file to carry it to another machine.
    public func archive(_ id: String, withChildren: Bool = false) async throws -> WorkflowArchive {
        try await storage.archive(id, withChildren: withChildren)
    }

    /// Brings `archive`'s workflows into this client's store with their IDs, events, fields and
    /// inboxes; refused (``ArchiveError/Code/alreadyExists``), with nothing written, if one is
    /// there already, unless `replacing` (only ended workflows no process holds are replaced).
    /// Returns the imported IDs.
    @discardableResult
    public func importArchive(_ archive: WorkflowArchive, replacing: Bool = false) async throws -> [String] {
        try await storage.importArchive(archive, replacing: replacing)
    }
}
