import DurableLog

/// Which waiting workflows a dequeue may start, in which order: pure functions of index entries.
enum QueueSelection {
    /// `entries` in DBOS's run order: unprioritised (0) first, then ascending priority;
    /// first-in-first-out (by enqueue sequence, then creation time, then ID) among equals. Each
    /// entry's sort key is read once, in place, not once per comparison (a backlog is sorted on
    /// every dequeue round).
    static func inRunOrder(_ entries: [IndexEntry]) -> [IndexEntry] {
        entries.map { entry -> (key: (Int64, Int64, Int64), id: String, entry: IndexEntry) in
            ((entry.priority ?? 0, entry.enqueueSequence ?? 0, entry.createdAt), entry.workflowID, entry)
        }
        .sorted { $0.key != $1.key ? $0.key < $1.key : $0.id < $1.id }
        .map(\.entry)
    }

    /// Whether an executor of `version` may run `entry` (an unpinned workflow runs anywhere).
    static func versionMatches(_ entry: IndexEntry, version: String) -> Bool {
        let pinned = entry.applicationVersion ?? ""
        return pinned.isEmpty || pinned == version
    }

    /// Whether `entry` still holds its deduplication ID: until it ends, or, for a debounced
    /// workflow, until it starts (the next debounce then begins a new one, as in DBOS).
    static func holdsDeduplicationID(_ entry: IndexEntry) -> Bool {
        if entry.fields.isDebounced == true { return entry.status == .enqueued || entry.status == .delayed }
        return !entry.status.isTerminal
    }

    /// One more than the largest enqueue sequence number the index has seen in `queue`.
    static func nextSequenceFloor(_ index: WorkflowIndex, queue: String) -> Int64 {
        (index.entries { $0.queueName == queue }.compactMap(\.fields.enqueueSequence).max() ?? 0) + 1
    }

    /// The latest `limit` start times in `queue`'s `partition`, from the index (to rebuild a
    /// damaged or missing rate-limit window).
    static func recentStarts(_ index: WorkflowIndex, queue: String, partition: String?, limit: Int) -> [Int64] {
        let starts = index.entries { $0.queueName == queue && $0.fields.partitionKey == partition }
            .compactMap(\.fields.startedAt)
        return Array(starts.sorted().suffix(limit))
    }
}
