/// What `durable check` found: the state of every log and whether the index agrees with them.
public struct IntegrityReport: Sendable {
    /// One log's verdict.
    public struct LogFinding: Sendable {
        /// The log's key.
        public var key: LogKey
        /// The workflow ID stored in the log, if readable.
        public var workflowID: String?
        /// How the log ends.
        public var outcome: LogScan.Outcome
        /// Records verified.
        public var recordCount: Int
        /// File size in bytes.
        public var fileSize: Int
    }

    /// Every log, in key order.
    public var logs: [LogFinding] = []
    /// Workflow IDs (or keys) whose index entry differs from what their log implies.
    public var staleIndexEntries: [String] = []
    /// Index entries with no log file.
    public var orphanIndexEntries: [String] = []
    /// Damage in the index files themselves.
    public var indexDamage: String?

    /// Logs that verified cleanly.
    public var okCount: Int { logs.filter { $0.outcome == .clean }.count }
    /// Logs ending in a torn record (normal after a crash; repaired when next opened for writing).
    public var tornCount: Int { logs.filter { $0.outcome == .torn }.count }
    /// Logs with damage in front of valid data, or an unreadable header.
    public var corruptedCount: Int {
        logs.filter { if case .corrupted = $0.outcome { true } else { false } }.count
    }
    /// Whether anything needs an operator: corruption, or an index that disagrees with the logs.
    public var hasProblems: Bool {
        corruptedCount > 0 || !staleIndexEntries.isEmpty || !orphanIndexEntries.isEmpty || indexDamage != nil
    }
}

extension LogStore {
    /// Verifies every record of every log and compares the index with the logs.
    /// Takes no lock and modifies nothing. Blocks on file I/O.
    public func check() throws(StorageError) -> IntegrityReport {
        try index.refresh()
        var report = IntegrityReport()
        report.indexDamage = index.damage
        let keys = try allLogKeys()
        var onDisk = Set<LogKey>()
        for key in keys {
            let contents: LogContents
            do throws(StorageError) {
                contents = try readLog(key: key)
            } catch where error.code == .notFound {
                continue
            } catch {
                report.logs.append(.init(key: key, workflowID: nil, outcome: .corrupted(reason: error.description), recordCount: 0, fileSize: 0))
                continue
            }
            onDisk.insert(key)
            report.logs.append(
                .init(
                    key: key, workflowID: contents.name, outcome: contents.outcome, recordCount: contents.records.count,
                    fileSize: contents.fileSize))
            var derived = contents.indexEntry
            derived.fields.corruption = nil  // the scan verdict above reports corruption
            let indexed = index.entry(for: key)
            // A live writer may be ahead of its index append by a moment; only a missing or
            // diverging entry whose log has nothing newer counts as stale.
            var comparable = indexed
            comparable?.fields.corruption = nil
            if comparable != derived && (indexed?.logSeq ?? 0) >= derived.logSeq || indexed == nil {
                report.staleIndexEntries.append(contents.name ?? key.hex)
            }
        }
        for entry in index.allEntries() where !onDisk.contains(entry.key) {
            report.orphanIndexEntries.append(entry.fields.workflowID ?? entry.key.hex)
        }
        return report
    }
}
