import DurableStorage

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
        report.indexDamage = index.damage ?? (index.isDerivedInMemory ? index.repaired : nil)
        let keys = try allLogKeys()
        var onDisk = Set<LogKey>()
        for key in keys {
            let contents: LogContents
            do throws(StorageError) {
                contents = try readLog(key: key)
            } catch  where error.code == .notFound {
                continue
            } catch {
                report.logs.append(
                    .init(
                        key: key, workflowID: nil, outcome: .corrupted(reason: error.description), recordCount: 0,
                        fileSize: 0))
                continue
            }
            onDisk.insert(key)
            report.logs.append(
                .init(
                    key: key, workflowID: contents.name, outcome: contents.outcome, recordCount: contents.records.count,
                    fileSize: contents.fileSize))
            var derived = contents.indexEntry
            derived.fields.corruption = nil  // the scan verdict above reports corruption
            func agrees() -> Bool {
                var indexed = index.entry(for: key)
                indexed?.fields.corruption = nil
                return indexed == derived
            }
            if agrees() { continue }
            // An entry behind its log (or missing) is a writer a moment from its index append,
            // or one being created, only while a live process holds the log's lease; behind a
            // log nobody holds, it is stale (its writer died between the two appends). Look
            // again after a refresh: the writer may have appended and let go since.
            let behind = (index.entry(for: key)?.logSeq ?? 0) < derived.logSeq
            if behind, (try? isLeaseHeld(key: key)) == true { continue }
            try index.refresh()
            if !agrees() { report.staleIndexEntries.append(contents.name ?? key.hex) }
        }
        for entry in index.allEntries() where !onDisk.contains(entry.key) {
            report.orphanIndexEntries.append(entry.fields.workflowID ?? entry.key.hex)
        }
        return report
    }
}
