import DurableStorage

extension LogStore {
    /// The index entry every log implies: the fold of its index updates, plus the reason it is
    /// quarantined if it is corrupted. Reads the log without a lock.
    func derivedEntry(for key: LogKey) throws(StorageError) -> IndexEntry {
        try readLog(key: key).indexEntry
    }

    /// Recreates the index from the logs alone (`durable index rebuild`): reads every log,
    /// folds its index updates, and publishes the result as a new generation.
    ///
    /// - Returns: the number of logs indexed.
    @discardableResult
    public func rebuildIndex() throws(StorageError) -> Int {
        let entries = try folder.derivedEntries()
        try index.replace(with: entries)
        return entries.count
    }

    /// Records in the index the updates among `records` (the log of `name`, read under its lease)
    /// that the index has not seen: the repair for a crash between a log append and its index
    /// append, found by whoever next holds the workflow's lease.
    public func reconcileIndex(forLogNamed name: String, records: [LogRecord]) async throws(StorageError) {
        let key = try LogKey(name: name)
        let known = index.entry(for: key)?.logSeq ?? 0
        let items = records.compactMap { record -> WorkflowIndex.Item? in
            guard record.type == .indexUpdate, record.seq > known, let delta = IndexDelta(decoding: record.payload)
            else { return nil }
            return (key, record.seq, delta)
        }
        try await index.record(items)
    }

    /// Brings the index up to date with the logs after a crash between a log append and its
    /// index append: replays newer index updates of every unfinished workflow, and (with
    /// `sweepOrphans`) adopts logs the index has never seen.
    ///
    /// With `skippingHeld`, logs whose lease a live process holds are left alone (their writer
    /// is about to append to the index itself): running executors call it so, periodically, so
    /// that what a dead executor left half-recorded (a child invisible to the index, a finished
    /// workflow still listed as running) is repaired without waiting for the next launch.
    ///
    /// - Returns: the number of entries that changed.
    @discardableResult
    public func reconcileIndex(sweepOrphans: Bool = true, skippingHeld: Bool = false) async throws(StorageError) -> Int
    {
        let items = try await io.run { [self] () throws(StorageError) -> [WorkflowIndex.Item] in
            try index.refresh()
            var keys = index.compactMapEntries { !$0.status.isTerminal && !$0.isQuarantined ? $0.key : nil }
            if sweepOrphans {
                let known = Set(index.compactMapEntries(\.key))
                keys += try allLogKeys().filter { !known.contains($0) }
            }
            var items: [WorkflowIndex.Item] = []
            for key in keys {
                if skippingHeld, (try? isLeaseHeld(key: key)) != false { continue }
                let current = index.entry(for: key)
                guard let derived = try? derivedEntry(for: key), derived != current else { continue }
                let contents = try readLog(key: key)
                for record in contents.records where record.type == .indexUpdate && record.seq > (current?.logSeq ?? 0)
                {
                    if let delta = IndexDelta(decoding: record.payload) { items.append((key, record.seq, delta)) }
                }
                if let corruption = derived.fields.corruption, current?.fields.corruption != corruption {
                    var quarantine = IndexDelta()
                    quarantine.corruption = corruption
                    items.append((key, 0, quarantine))
                }
            }
            return items
        }
        try await index.record(items)
        return Set(items.map(\.key)).count
    }
}
