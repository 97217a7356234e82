#if canImport(Glibc)
import Glibc
#endif
import DurableLog
import DurableWorkflows
import FoundationEssentials

/// Which workflows of a data directory to export.
public struct ExportSelection: Sendable {
    /// Only these statuses (all if empty).
    public var statuses: Set<WorkflowStatus> = []
    /// Only this workflow name.
    public var name: String?
    /// Only workflows created at or after this time, Unix ms.
    public var createdAfter: Int64?
    /// Only workflows created before this time, Unix ms.
    public var createdBefore: Int64?
    /// Only these IDs (all if empty); an ID no workflow has is reported as not found.
    public var ids: [String] = []

    /// Every workflow.
    public init() {}
}

/// What an export wrote, and what it left out.
public struct ExportReport: Sendable {
    /// Workflows exported.
    public var workflows = 0
    /// Rows written, per table.
    public var rows: [DBOSTable: Int] = [:]
    /// Workflows left out, with the reason (damaged logs or inboxes, unknown IDs).
    public var skipped: [ExportError] = []

    mutating func count(_ written: [DBOSRow]) { for row in written { rows[row.table, default: 0] += 1 } }
}

/// Exports the workflows of a data directory, one at a time, into DBOS rows.
///
/// Reads through the same lock-free paths as the `durable` readers, so it runs beside live
/// executors; each workflow is read once and its rows are handed on at once, so memory does not
/// grow with the number of workflows. A workflow whose log or inbox is damaged is reported in
/// ``ExportReport/skipped`` and none of its rows are written.
///
/// Blocking: it reads files on the calling thread. Call it from a thread of your own (the
/// `durable export` command does), never from the cooperative pool.
public struct DataDirectoryExporter: Sendable {
    /// The directory's store.
    public let store: LogStore
    /// The mapping's options (application name; schedule names are filled in from the directory).
    public var mapping: DBOSMappingOptions

    /// An exporter of `store`.
    public init(store: LogStore, mapping: DBOSMappingOptions = .init()) {
        self.store = store
        self.mapping = mapping
    }

    /// Hands the rows of every selected workflow, then of every queue, schedule and application
    /// version, to `emit`.
    public func export(
        _ selection: ExportSelection, emit: (_ rows: [DBOSRow], _ workflowID: String?) throws -> Void
    ) throws -> ExportReport {
        var report = ExportReport()
        let schedules = try store.scheduleStates()
        var options = mapping
        options.scheduleNames = schedules.map(\.name)
        var versions: [String: (first: Int64, last: Int64)] = [:]
        for id in try selectedIDs(selection) {
            let rows: [DBOSRow]
            do {
                rows = try workflowRows(id, options: options)
                try emit(rows, id)
            } catch {
                guard let skipped = error as? ExportError, Self.skippable.contains(skipped.code) else { throw error }
                report.skipped.append(skipped)
                continue
            }
            report.count(rows)
            report.workflows += 1
            if let status = rows.first, case .text(let version) = status["application_version"], !version.isEmpty,
                case .integer(let created) = status["created_at"]
            {
                let span = versions[version] ?? (created, created)
                versions[version] = (min(span.first, created), max(span.last, created))
            }
        }
        var extra: [DBOSRow] = []
        for bytes in try store.recordedQueueConfigurations() {
            guard let queue = try? JSONDecoder().decode(QueueConfiguration.self, from: Data(bytes)) else { continue }
            if let row = DBOSMapping.queueRow(queue) { extra.append(row) }
        }
        extra += schedules.map(DBOSMapping.scheduleRow)
        extra += versions.sorted { $0.key < $1.key }.map {
            DBOSMapping.applicationVersionRow(
                $0.key, firstSeen: $0.value.first, lastSeen: $0.value.last, options: options)
        }
        for row in extra { try emit([row], nil) }
        report.count(extra)
        return report
    }

    /// Reasons a workflow is left out rather than the export stopped.
    static let skippable: Set<ExportError.Code> = [.quarantined, .notFound, .unrepresentable]

    /// The rows of one workflow, read from its log and inbox.
    public func workflowRows(_ id: String, options: DBOSMappingOptions) throws -> [DBOSRow] {
        var contents: LogContents
        do {
            contents = try store.readLog(name: id)
            // Beside a live writer a read can overtake a multi-page append and see damage that
            // is not there: read again while the writer lives, before calling it damaged.
            var retries = 0
            while case .corrupted = contents.outcome, retries < 20, (try? store.isLeaseHeld(name: id)) == true {
                usleep(5_000)
                contents = try store.readLog(name: id)
                retries += 1
            }
        } catch {
            if error.code == .notFound { throw ExportError(.notFound, "no workflow with this ID", workflowID: id) }
            if error.code == .corrupted {
                throw ExportError(
                    .quarantined, "its log is damaged (\(error.message)); nothing of it was exported", workflowID: id)
            }
            throw error
        }
        if case .corrupted(let reason) = contents.outcome {
            throw ExportError(
                .quarantined, "its log is damaged (\(reason)); nothing of it was exported", workflowID: id)
        }
        let history = try WorkflowHistory(contents)
        if let corruption = history.fields.corruption {
            throw ExportError(
                .quarantined, "it is quarantined (\(corruption)); nothing of it was exported", workflowID: id)
        }
        let messages: [InboxMessage]
        do {
            messages = try store.inboxMessagesBlocking(of: id)
        } catch {
            throw ExportError(
                .quarantined, "its inbox is damaged (\(error)); nothing of it was exported", workflowID: id)
        }
        return try DBOSMapping.rows(for: history, messages: messages, options: options).rows
    }

    private func selectedIDs(_ selection: ExportSelection) throws -> [String] {
        try store.index.refresh()
        if !selection.ids.isEmpty {
            var seen = Set<String>()
            return selection.ids.filter { seen.insert($0).inserted }
        }
        var filter = WorkflowFilter()
        filter.statuses = selection.statuses
        filter.name = selection.name
        filter.createdAfter = selection.createdAfter
        filter.createdBefore = selection.createdBefore
        return store.index.workflowIDs(matching: filter)
    }
}
