#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DurableLog
import DurableStorage

/// The file backend of ``WorkflowStore``: a data directory of per-workflow logs and an index.
///
/// A workflow's history is its log (one record per event, ``WorkflowEventCodec``); its status
/// fields are the index entry the log's index updates fold into; its lease is the log's
/// open-file-description lock, which the kernel drops when the holding process dies.
public struct FileWorkflowStore: WorkflowStore {
    /// The storage engine underneath.
    let log: LogStore

    /// A store on `log`.
    init(_ log: LogStore) { self.log = log }

    /// Opens the data directory at `directory` (created if missing, unless `options` say not).
    public init(directory: String, options: LogStore.Options = LogStore.Options()) throws {
        self.init(try LogStore.open(directory: directory, options: options))
    }

    public func create(
        _ id: String, fields: WorkflowFields, events: [WorkflowEvent]
    ) async throws
        -> (any WorkflowLease)?
    {
        try await Self.translating(id) { try await log.createWorkflow(id, fields: fields, events: events) }
    }

    public func claim(_ id: String) async throws -> WorkflowClaim? {
        try await Self.translating(id) {
            let claimed: (lease: FileWorkflowLease, records: [LogRecord])
            do throws(StorageError) {
                claimed = try await log.claimWorkflow(id)
            } catch {
                switch error.code {
                case .leaseHeld: return nil
                case .corrupted:
                    throw WorkflowStoreError(
                        .damaged, "workflow \"\(id)\" is damaged: \(error.message)", workflowID: id)
                default: throw error  // translated by `translating`
                }
            }
            // (A quarantined workflow is refused once the lease is taken, checked in the same I/O
            // call: a recovery sweep that listed it before its execution here quarantined it must
            // not run it into the same damage.)
            do {
                return WorkflowClaim(lease: claimed.lease, events: try WorkflowEventCodec.events(from: claimed.records))
            } catch {
                claimed.lease.release()
                throw WorkflowStoreError(
                    .damaged, "a record of workflow \"\(id)\" does not decode: \(error)", workflowID: id)
            }
        }
    }

    public func history(of id: String) async throws -> [WorkflowEvent] {
        try await Self.translating(id) {
            try WorkflowEventCodec.events(from: try await log.read(name: id).records)
        }
    }

    public func fields(of id: String) async throws -> WorkflowFields? {
        try await Self.translating(id) {
            try await log.onIOThread { [log] () throws(StorageError) -> WorkflowFields? in
                try log.index.refresh()
                let indexed = log.index.entry(forWorkflowID: id)?.fields
                if let status = indexed?.status, status.isTerminal { return indexed }
                // A writer appends to the index after its log, so the index can be one change behind
                // (a workflow whose result() returned still PENDING): fields that may still change are
                // read from the log, which is the truth.
                do throws(StorageError) {
                    // (What only the index records, such as a quarantine, is kept.)
                    var fields = indexed ?? WorkflowFields()
                    fields.apply(try log.readLog(name: id).indexFields)
                    return fields.workflowID == nil ? indexed : fields
                } catch {
                    if error.code == .notFound { return indexed }
                    throw error
                }
            }
        }
    }

    public func list(_ filter: WorkflowFilter) async throws -> [WorkflowSummary] {
        try await Self.translating(nil) {
            try await log.onIOThread { [log] () throws(StorageError) in
                try log.index.refresh()
                return log.index.workflows(matching: filter)
            }
        }
    }

    public func recoverable(applicationVersion: String) async throws -> [WorkflowSummary] {
        try await Self.translating(nil) {
            try await log.onIOThread { [log] () throws(StorageError) in
                try log.index.refresh()
                // Only the matches are decoded; the rest is read field by field in place.
                return log.index.compactMapEntries { entry -> WorkflowSummary? in
                    guard entry.status == .pending, !entry.isQuarantined,
                        QueueSelection.versionMatches(entry, version: applicationVersion)
                    else { return nil }
                    return WorkflowSummary(entry.fields)
                }
                .sorted { ($0.createdAt, $0.workflowID) < ($1.createdAt, $1.workflowID) }
            }
        }
    }

    @discardableResult
    public func deliver(_ item: InboxItem, to id: String) async throws -> Bool {
        try await Self.translating(id) {
            guard try await exists(id) else {
                throw WorkflowStoreError(.notFound, "no workflow with ID \"\(id)\"", workflowID: id)
            }
            let (type, payload) = try InboxCodec.record(for: item)
            let itemID = item.id
            return try await log.appendToInbox(
                name: id, type: type, payload: payload, itemID: itemID, idOf: InboxCodec.itemID(of:))
        }
    }

    public func inbox(of id: String) async throws -> [InboxItem] {
        try await Self.translating(id) {
            try await log.readInbox(name: id).compactMap(InboxCodec.item(from:))
        }
    }

    public func wake(queue: String) async throws {
        try await Self.translating(nil) {
            try await log.onIOThread { [log] () throws(StorageError) in try log.queueFiles(named: queue).ring() }
        }
    }

    public func follow(_ id: String) async throws -> any StoreFollower<WorkflowEvent> {
        try await Self.translating(id) {
            try FileFollower(log: log, workflowID: id, kind: .history) { try WorkflowEventCodec.events(from: $0) }
        }
    }

    public func followInbox(of id: String) async throws -> any StoreFollower<InboxItem> {
        try await Self.translating(id) {
            try FileFollower(log: log, workflowID: id, kind: .inbox) { records in
                records.compactMap { (try? InboxCodec.item(from: $0)) ?? nil }
            }
        }
    }

    public func quarantine(_ id: String, reason: String) async throws {
        try await Self.translating(id) { try await log.quarantine(name: id, reason: reason) }
    }

    public var failure: WorkflowStoreError? { log.fatalError.map(Self.lost) }

    public func onFailure(_ handler: @escaping @Sendable (WorkflowStoreError) -> Void) {
        log.onDurabilityLost { handler(Self.lost($0)) }
    }

    private static func lost(_ error: StorageError) -> WorkflowStoreError {
        WorkflowStoreError(.durabilityLost, error.message)
    }

    public func repair(_ scope: RepairScope) async throws -> RepairReport {
        try await Self.translating(nil) {
            var report = RepairReport()
            switch scope {
            case .launch:
                report.rebuilt = log.index.repaired
                report.reconciled = try await log.reconcileIndex()
                report.removedLeftovers = (try? await log.sweepTemporaryFiles()) ?? 0
            case .unowned:
                report.reconciled = try await log.reconcileIndex(sweepOrphans: true, skippingHeld: true)
            }
            return report
        }
    }

    public func delete(_ ids: [String]) async throws -> [String] {
        try await Self.translating(nil) {
            var deleted: [String] = []
            for id in ids where try await log.removeEndedWorkflow(name: id) { deleted.append(id) }
            if !deleted.isEmpty { try await log.compactIndex() }  // reclaim the index log at once
            return deleted
        }
    }

    /// Whether workflow `id` exists: in the index, or (created beside a lagging index) as a log.
    func exists(_ id: String) async throws -> Bool {
        try await log.onIOThread { [log] () throws(StorageError) -> Bool in
            if log.index.entry(forWorkflowID: id) != nil { return true }
            try log.index.refresh()
            if log.index.entry(forWorkflowID: id) != nil { return true }
            return try log.logExists(name: id)
        }
    }

    /// Runs `body`, turning the storage engine's errors into the protocol's: callers see
    /// ``WorkflowStoreError`` codes, naming the workflow (never a file path).
    static func translating<T>(_ id: String?, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw translated(error, id)
        }
    }

    /// The ``WorkflowStoreError`` for a ``StorageError`` (any other error is returned as it is).
    static func translated(_ error: any Error, _ id: String?) -> any Error {
        guard let error = error as? StorageError else { return error }
        let code: WorkflowStoreError.Code
        switch error.code {
        case .notFound where id != nil:
            return WorkflowStoreError(.notFound, "no workflow with ID \"\(id!)\"", workflowID: id)
        case .closed where id != nil:  // the lease's log was let go: this writer no longer owns the workflow
            return WorkflowStoreError(
                .ownershipLost, "the lease on workflow \"\(id!)\" was given up: nothing was appended", workflowID: id)
        case .corrupted, .dictionaryMissing, .unsupportedVersion: code = .damaged
        case .durabilityLost: code = .durabilityLost
        case .invalidName, .payloadTooLarge: code = .invalidArgument
        default: code = .unavailable
        }
        var message = (id.map { "workflow \"\($0)\": " } ?? "") + error.message
        if let errno = error.errno { message += " (\(String(cString: strerror(errno))))" }
        return WorkflowStoreError(code, message, workflowID: id)
    }
}
