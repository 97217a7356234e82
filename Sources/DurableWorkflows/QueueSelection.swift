import DurableLog

/// Which waiting workflows a dequeue may start, in which order: pure functions of index entries.
enum QueueSelection {
    /// DBOS's order: unprioritised (0) first, then ascending priority; first-in-first-out
    /// (by enqueue sequence) among equals.
    static func runsBefore(_ a: IndexEntry, _ b: IndexEntry) -> Bool {
        let fa = a.fields, fb = b.fields
        let left = (fa.priority ?? 0, fa.enqueueSequence ?? 0, fa.createdAt ?? 0)
        let right = (fb.priority ?? 0, fb.enqueueSequence ?? 0, fb.createdAt ?? 0)
        if left != right { return left < right }
        return a.workflowID < b.workflowID
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
