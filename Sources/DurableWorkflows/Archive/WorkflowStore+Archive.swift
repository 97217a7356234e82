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
            let kept = events.filter { !$0.isStatusChange }
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
    /// inbox. An unfinished one is recovered by an executor of its version; one waiting in a queue
    /// joins the end of that queue here (a new enqueue sequence, the queue's deduplication kept).
    /// Refused with ``ArchiveError/Code/alreadyExists``, before anything is written, if one is
    /// here already, unless `replacing` (a workflow here that has not ended, or that a live
    /// process holds, is never replaced). Returns the imported IDs.
    ///
    /// Every lease is held until every workflow and inbox is in, so no executor starts one half
    /// imported; if writing fails part-way, what was created is removed again.
    func importArchive(_ archive: WorkflowArchive, replacing: Bool) async throws -> [String] {
        try archive.validate()
        let ids = archive.workflows.map(\.workflowID)
        for id in ids {
            try WorkflowJSON.checkedName(id, what: "the workflow ID \"\(id.prefix(80))\"", allowsEmpty: false)
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
                    "cannot replace the workflow: a live executor holds it", workflowID: kept, code: .invalidState)
            }
        }
        var progress = ImportProgress()
        do {
            for workflow in archive.workflows { try await bringIn(workflow, progress: &progress) }
        } catch {
            await undo(progress)
            throw error
        }
        for lease in progress.leases { lease.release() }
        return ids
    }

    /// Creates one archived workflow with its inbox, recording it in `progress` as soon as it
    /// exists: with its lease, held until the whole import is in, or, for one that went into its
    /// queue (woken by the enqueue), by ID.
    private func bringIn(_ workflow: ArchivedWorkflow, progress: inout ImportProgress) async throws {
        let id = workflow.workflowID
        let status = workflow.fields.status ?? .pending
        if let queue = workflow.fields.queueName, status == .enqueued || status == .delayed {
            var fields = workflow.fields
            fields.enqueueSequence = nil  // the store gives it this queue's next one
            switch try await enqueue(id, fields: fields, events: workflow.events) {
            case .created: progress.queued.append(id)
            case .exists:
                throw ArchiveError(.alreadyExists, "workflow \"\(id)\" appeared here during the import", workflowID: id)
            case .deduplicated(let holder):
                throw WorkflowError(
                    "cannot import it into queue \"\(queue)\": workflow \"\(holder)\" holds its deduplication ID",
                    workflowID: id, code: .alreadyExists)
            }
        } else {
            guard let lease = try await create(id, fields: workflow.fields, events: workflow.events) else {
                throw ArchiveError(.alreadyExists, "workflow \"\(id)\" appeared here during the import", workflowID: id)
            }
            progress.leases.append(lease)
            progress.unfinished[id] = !status.isTerminal
            // The archived fields last: they are the sum, whatever the events imply on the way.
            try await lease.append([.statusChanged(workflow.fields)])
        }
        for item in workflow.inbox { try await deliver(item, to: id) }
    }

    /// Undoes a failed import: ends what it created that has not ended (so nothing runs it) and
    /// deletes it all. Only what this import created is touched.
    private func undo(_ progress: ImportProgress) async {
        let failed = PortableError(WorkflowError("the import that created it failed", code: .failed))
        for lease in progress.leases {
            if progress.unfinished[lease.workflowID] == true {
                try? await lease.append([.end(.cancelled, output: nil, error: failed, at: 0)])
            }
            lease.release()
        }
        for id in progress.queued { _ = try? await cancelWorkflow(id, executorID: "import", at: 0) }
        _ = try? await delete(progress.leases.map(\.workflowID) + progress.queued)
    }
}

/// What an import has created so far.
private struct ImportProgress {
    /// The leases on the workflows created directly, held until the import ends.
    var leases: [any WorkflowLease] = []
    /// Whether each of those had not ended when it was archived.
    var unfinished: [String: Bool] = [:]
    /// The workflows that went into their queues.
    var queued: [String] = []
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
