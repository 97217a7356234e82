import DurableLog
import DurableStorage
import FoundationEssentials

/// Queues on files (``QueueFiles``): every enqueue and dequeue decision is taken holding the
/// queue's lock, against the index re-read under it; global concurrency is run slots (byte locks
/// the kernel drops with their process); the rate window and the enqueue sequence are counter
/// files rebuilt from the index when missing or damaged.
extension FileWorkflowStore {
    public func enqueue(_ id: String, fields: WorkflowFields, events: [WorkflowEvent]) async throws -> EnqueueOutcome {
        try await Self.translating(id) {
            guard let queue = fields.queueName else {
                throw WorkflowStoreError(
                    .invalidArgument, "workflow \"\(id)\" is enqueued without a queue name", workflowID: id)
            }
            // Known here: nothing to do. (Otherwise the creation below finds an existing log, so
            // a lagging index costs a sequence number, not an I/O-thread hop on every enqueue.)
            if log.index.entry(forWorkflowID: id) != nil { return .exists }
            let files = try await queueFiles(queue)
            let log = self.log
            let index = log.index
            func create(sequence: Int64) async throws -> Bool {
                var fields = fields
                fields.enqueueSequence = sequence
                guard let lease = try await log.createWorkflow(id, fields: fields, events: events) else { return false }
                lease.release()
                return true
            }
            enum Decision: Sendable {
                case deduplicated(holder: String)
                case created(Bool)
                case assigned(sequence: Int64)
            }
            let decision: Decision = try await files.withLock { lock in
                try await log.refreshIndex()
                if let deduplicationID = fields.deduplicationID,
                    let holder = index.deduplicationHolder(
                        queue: queue, deduplicationID: deduplicationID,
                        where: {
                            !$0.isQuarantined && QueueSelection.holdsDeduplicationID($0)
                        })
                {
                    return .deduplicated(holder: holder.workflowID)
                }
                let sequence = try await lock.nextSequence { QueueSelection.nextSequenceFloor(index, queue: queue) }
                // With a deduplication ID the log is created under the lock, so the check above and
                // the creation are one decision; otherwise creating after unlocking keeps enqueues
                // from serialising on each other's fsyncs.
                if fields.deduplicationID != nil { return .created(try await create(sequence: sequence)) }
                return .assigned(sequence: sequence)
            }
            let created: Bool
            switch decision {
            case .deduplicated(let holder): return .deduplicated(holder: holder)
            case .created(let value): created = value
            case .assigned(let sequence): created = try await create(sequence: sequence)
            }
            guard created else { return .exists }
            files.ring()
            return .created
        }
    }

    public func dequeue(_ request: DequeueRequest) async throws -> DequeueResult {
        try await Self.translating(nil) {
            let files = try await queueFiles(request.queue.name)
            let log = self.log
            try await log.refreshIndex()
            let outside = plan(request, now: request.now())
            // Nothing to start: skip the lock.
            guard !outside.groups.isEmpty else { return DequeueResult(started: [], wakeAt: outside.wake) }
            let queue = request.queue
            return try await files.withLock { lock in
                try await log.refreshIndex()  // authoritative: every claim is in the index before its claimer unlocks
                let now = request.now()
                let (groups, delayedWake) = plan(request, now: now)
                var wake = delayedWake
                var started: [WorkflowClaim] = []
                var failed: [(workflowID: String, error: any Error)] = []
                for (partition, entries) in groups {
                    var budget = entries.count
                    var starts: [Int64] = []
                    var recent: [Int64] = []
                    let rate = queue.rateLimit.flatMap { limit in queue.rateLimitPeriodMilliseconds.map { (limit, $0) }
                    }
                    if let (limit, period) = rate {
                        recent = try await lock.recentStarts(
                            partition: partition, limit: limit, period: period, now: now
                        ) {
                            QueueSelection.recentStarts(
                                log.index, queue: queue.name, partition: partition, limit: limit)
                        }
                        budget = min(budget, limit - recent.count)
                        if recent.count >= limit {
                            let freed = recent[recent.count - limit] + period
                            wake = min(wake ?? freed, freed)
                        }
                    }
                    // Claims of one round run side by side (their log appends share the disk's
                    // flushes), which keeps the queue lock short; a claim that fails (another
                    // executor's lease, a moved start time) gives its slot to the next candidate.
                    var remaining = entries[...]
                    while budget > 0, !remaining.isEmpty {
                        var batch: [(IndexEntry, QueueSlot?)] = []
                        var slotsExhausted = false
                        while batch.count < budget, let entry = remaining.first {
                            var slot: QueueSlot?
                            if let concurrency = queue.concurrency {
                                guard let taken = try files.tryTakeSlot(partition: partition, limit: concurrency) else {
                                    slotsExhausted = true
                                    break
                                }
                                slot = taken
                            }
                            remaining = remaining.dropFirst()
                            batch.append((entry, slot))
                        }
                        if let (limit, period) = rate, !batch.isEmpty {
                            // Counted before claiming: a crash mid-claim over-counts (safe), never under-counts.
                            let planned = recent + starts + Array(repeating: now, count: batch.count)
                            try await lock.writeStarts(
                                planned, partition: partition, limit: limit, period: period, now: now)
                        }
                        let outcomes = await withTaskGroup(of: (Int, String, Result<WorkflowClaim?, any Error>).self) {
                            group in
                            for (position, (entry, slot)) in batch.enumerated() {
                                group.addTask {
                                    let outcome: Result<WorkflowClaim?, any Error>
                                    do {
                                        outcome = .success(
                                            try await self.start(entry, slot: slot, files: files, request, now: now))
                                    } catch {
                                        outcome = .failure(error)
                                    }
                                    if let slot, (try? outcome.get()) == nil { files.release(slot) }
                                    return (position, entry.workflowID, outcome)
                                }
                            }
                            // Back in run order: the caller starts them in the order they are returned.
                            return await group.reduce(into: []) { $0.append($1) }.sorted { $0.0 < $1.0 }
                        }
                        var claimed: [WorkflowClaim] = []
                        for (_, id, outcome) in outcomes {
                            switch outcome {
                            case .success(let claim?): claimed.append(claim)
                            case .success(nil): break  // not this executor's to start after all
                            case .failure(let error): failed.append((id, error))
                            }
                        }
                        budget -= claimed.count
                        starts += Array(repeating: now, count: claimed.count)
                        started += claimed
                        if slotsExhausted || batch.isEmpty { break }
                    }
                    if let (limit, period) = rate {
                        try await lock.writeStarts(
                            recent + starts, partition: partition, limit: limit, period: period, now: now)
                        if budget == 0 && !starts.isEmpty { wake = min(wake ?? now + period, now + period) }
                    }
                }
                return DequeueResult(started: started, wakeAt: wake, failed: failed)
            }
        }
    }

    /// What `request` could start now: per partition, the due entries in run order, cut to the
    /// executor's budget; and the earliest time a delayed entry becomes due.
    private func plan(
        _ request: DequeueRequest, now: Int64
    ) -> (groups: [(partition: String?, entries: [IndexEntry])], wake: Int64?) {
        var byPartition: [String?: [IndexEntry]] = [:]
        var wake: Int64?
        for entry in log.index.waitingEntries(inQueue: request.queue.name)
        where !entry.isQuarantined && QueueSelection.versionMatches(entry, version: request.applicationVersion)
            && request.canRun(entry.name ?? "")  // else another executor's to run
        {
            // (Fields read in place: a round looks at every waiting entry, decoding none.)
            if let due = entry.delayUntil, due > now {
                wake = min(wake ?? due, due)
                continue
            }
            byPartition[entry.partitionKey, default: []].append(entry)
        }
        var groups: [(String?, [IndexEntry])] = []
        for (partition, entries) in byPartition {
            let budget =
                request.queue.workerConcurrency.map { $0 - request.runningHere[partition ?? "", default: 0] }
                ?? entries.count
            guard budget > 0 else { continue }
            groups.append((partition, Array(QueueSelection.inRunOrder(entries).prefix(budget))))
        }
        return (groups, wake)
    }

    /// Takes `entry`'s lease and records that it started (`PENDING`, the request's executor,
    /// the start time, one more start). Returns nil if it is not to be started after all.
    private func start(
        _ entry: IndexEntry, slot: QueueSlot?, files: QueueFiles, _ request: DequeueRequest, now: Int64
    ) async throws -> WorkflowClaim? {
        let id = entry.workflowID
        // Held, or damaged. (The round planned from the index read under the queue lock, which
        // leaves quarantined entries out: no second index read per start.)
        guard let claimed = try? await log.claimWorkflow(id, refusingQuarantined: false) else { return nil }
        let lease = FileWorkflowLease(claimed.lease.writer) {
            if let slot { files.release(slot) }
            files.ring()  // a slot or a partition's worker budget is free
        }
        let events: [WorkflowEvent]
        do {
            events = try WorkflowEventCodec.events(from: claimed.records)
        } catch {
            claimed.lease.release()
            return nil
        }
        let history = WorkflowHistory(workflowID: id, events: events)
        // The log is the truth: the index this round planned with may be behind a debounce that
        // moved the start time.
        guard history.end == nil, history.status == .enqueued || history.status == .delayed,
            let start = history.start, (history.fields.delayUntil ?? 0) <= now, request.canRun(start.name)
        else {
            claimed.lease.release()  // (opening it brought the index up to date if its log had moved on)
            return nil
        }
        var delta = WorkflowFields()
        delta.updatedAt = now
        delta.status = .pending
        delta.executorID = request.executorID
        delta.startedAt = now
        delta.recoveryAttempts = (history.fields.recoveryAttempts ?? 0) + 1
        if (history.fields.applicationVersion ?? "").isEmpty { delta.applicationVersion = request.applicationVersion }
        delta.deadline = history.fields.deadline ?? history.fields.timeoutMilliseconds.map { now + $0 }
        do {
            try await lease.append([.statusChanged(delta)])
        } catch {
            claimed.lease.release()
            throw error
        }
        return WorkflowClaim(lease: lease, events: events + [.statusChanged(delta)])
    }

    public func recordQueue(_ configuration: QueueConfiguration) async throws {
        try await Self.translating(nil) {
            let files = try await queueFiles(configuration.name)
            // Merged without the queue's lock (a launch must not wait behind another process's
            // dequeue): two executors launching at the same instant may drop one's names until it
            // launches again. The names are a hint for `durable queues`, never a limit.
            var merged = configuration
            let recorded = try await log.onIOThread { () throws(StorageError) in try files.readConfiguration() }
            if let recorded, let old = try? WorkflowJSON.decode(QueueConfiguration.self, from: recorded) {
                merged.workflowNames = Array(Set(old.workflowNames ?? []).union(configuration.workflowNames ?? []))
                    .sorted()
            }
            try await files.writeConfiguration(try WorkflowJSON.encode(merged))
        }
    }

    public func queues() async throws -> [QueueSummary] {
        try await Self.translating(nil) {
            let summaries = try await log.onIOThread {
                [log] () throws(StorageError) -> Result<[QueueSummary], any Error> in
                Result { try log.queueSummaries() }
            }
            return try summaries.get()
        }
    }

    public func queueVersion(_ queue: String) async -> UInt64 {
        guard let files = try? await queueFiles(queue) else { return 0 }
        let (watcher, bell) = (log.watcher(), files.bellPath)
        if let version = watcher.watchedVersion(of: bell) { return version }
        // Not watched yet (or polled): adding the watch or reading the file's metadata is file I/O.
        return (try? await log.onIOThread { () throws(StorageError) in try watcher.version(of: bell) }) ?? 0
    }

    public func waitForQueue(_ queue: String, after version: UInt64, timeout: Duration) async {
        guard let files = try? await queueFiles(queue) else {
            try? await Task.sleep(for: timeout)
            return
        }
        await log.watcher().wait(for: files.bellPath, after: version, until: FileWatcher.deadline(after: timeout))
    }

    /// The files of `queue` (created on first use, on an I/O thread; then from memory).
    func queueFiles(_ queue: String) async throws(StorageError) -> QueueFiles {
        if let files = log.openedQueueFiles(named: queue) { return files }
        let created = try await log.onIOThread { [log] () throws(StorageError) in try log.queueFiles(named: queue) }
        // Taken again under the store's lock, which published it: that hand-off is one
        // ThreadSanitizer sees (it flagged the continuation's as a race on the object's fields).
        return log.openedQueueFiles(named: queue) ?? created
    }
}
