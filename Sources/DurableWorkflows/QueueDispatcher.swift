import DurableLog
import FoundationEssentials
import Logging
import Synchronization

/// Starts an engine's share of one queue's workflows: whenever the queue's bell rings (an
/// enqueue or a finished workflow in any process), a delay or rate-limit window ends, or a
/// second passes, it takes the queue's lock, re-reads the index and claims what the limits allow.
final class QueueDispatcher: Sendable {
    let queue: WorkflowQueue
    let files: QueueFiles
    private weak let engine: DurableEngine?
    /// Partition key ("" for none) → workflows of this queue running in this process.
    private let running = Locked<[String: Int]>([:])

    init(queue: WorkflowQueue, files: QueueFiles, engine: DurableEngine) {
        self.queue = queue
        self.files = files
        self.engine = engine
    }

    /// Dispatches until the task is cancelled.
    func run() async {
        guard let watcher = engine?.store.watcher() else { return }
        while !Task.isCancelled {
            guard let engine else { return }
            let version = (try? watcher.version(of: files.bellPath)) ?? 0
            var wait = Duration.seconds(1)  // a re-check, in case a wake-up was ever lost
            do {
                if let wake = try await dispatch(engine) {
                    let milliseconds = max(0, wake - engine.configuration.clock.nowMilliseconds()) + 1
                    wait = min(wait, .milliseconds(milliseconds))
                }
            } catch {
                engine.logger.error("dequeue failed", metadata: ["queue": "\(queue.name)", "error": "\(error)"])
            }
            await watcher.wait(for: files.bellPath, after: version, until: FileWatcher.deadline(after: wait))
        }
    }

    /// What this process could start now: per partition, the due entries in run order, cut to
    /// the local budget; and the earliest time a delayed entry becomes due.
    private func plan(
        _ engine: DurableEngine, now: Int64
    ) -> (groups: [(partition: String?, entries: [IndexEntry])], wake: Int64?) {
        let version = engine.configuration.applicationVersion
        var byPartition: [String?: [IndexEntry]] = [:]
        var wake: Int64?
        for entry in engine.store.index.waitingEntries(inQueue: queue.name)
        where !entry.isQuarantined && QueueSelection.versionMatches(entry, version: version)
            && engine.registeredWorkflow(named: entry.name ?? "") != nil  // another executor's to run
        {
            if let due = entry.fields.delayUntil, due > now {
                wake = min(wake ?? due, due)
                continue
            }
            byPartition[entry.fields.partitionKey, default: []].append(entry)
        }
        let runningHere = running.withLock { $0 }
        var groups: [(String?, [IndexEntry])] = []
        for (partition, entries) in byPartition {
            let budget = queue.workerConcurrency.map { $0 - runningHere[partition ?? "", default: 0] } ?? entries.count
            guard budget > 0 else { continue }
            groups.append((partition, Array(QueueSelection.inRunOrder(entries).prefix(budget))))
        }
        return (groups, wake)
    }

    /// One dequeue round. Returns when to look again at the latest (a delay or rate window ending).
    private func dispatch(_ engine: DurableEngine) async throws -> Int64? {
        try await engine.store.refreshIndex()
        let clock = engine.configuration.clock
        let outside = plan(engine, now: clock.nowMilliseconds())
        guard !outside.groups.isEmpty else { return outside.wake }  // nothing for us: skip the lock
        let store = engine.store
        let index = store.index
        let queueName = queue.name
        return try await files.withLock { lock in
            try await store.refreshIndex()  // authoritative: every claim is in the index before its claimer unlocks
            let now = clock.nowMilliseconds()
            let (groups, delayedWake) = plan(engine, now: now)
            var wake = delayedWake
            for (partition, entries) in groups {
                var budget = entries.count
                var starts: [Int64] = []
                var recent: [Int64] = []
                if let rate = queue.rateLimit {
                    let period = rate.period.milliseconds
                    recent = try await lock.recentStarts(
                        partition: partition, limit: rate.limit, period: period, now: now
                    ) {
                        QueueSelection.recentStarts(index, queue: queueName, partition: partition, limit: rate.limit)
                    }
                    budget = min(budget, rate.limit - recent.count)
                    if recent.count >= rate.limit {
                        let freed = recent[recent.count - rate.limit] + period
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
                    if let rate = queue.rateLimit, !batch.isEmpty {
                        // Counted before claiming: a crash mid-claim over-counts (safe), never under-counts.
                        let planned = recent + starts + Array(repeating: now, count: batch.count)
                        try await lock.writeStarts(
                            planned, partition: partition, limit: rate.limit, period: rate.period.milliseconds, now: now
                        )
                    }
                    let claimed = await withTaskGroup(of: Bool.self) { group in
                        for (entry, slot) in batch {
                            group.addTask {
                                do {
                                    if try await self.claim(entry, slot: slot, engine: engine, now: now) { return true }
                                } catch {
                                    engine.logger.error(
                                        "claiming a queued workflow failed",
                                        metadata: ["workflow-id": "\(entry.workflowID)", "error": "\(error)"])
                                }
                                if let slot { self.files.release(slot) }
                                return false
                            }
                        }
                        return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
                    }
                    budget -= claimed
                    starts += Array(repeating: now, count: claimed)
                    if slotsExhausted || batch.isEmpty { break }
                }
                if let rate = queue.rateLimit {
                    try await lock.writeStarts(
                        recent + starts, partition: partition, limit: rate.limit, period: rate.period.milliseconds,
                        now: now)
                    if budget == 0 && !starts.isEmpty {
                        wake = min(wake ?? now + rate.period.milliseconds, now + rate.period.milliseconds)
                    }
                }
            }
            return wake
        }
    }

    /// Takes `entry`'s lease, records that it started (`PENDING`, this executor, the start time)
    /// and runs it. Returns false if it is not this process's to start after all.
    private func claim(_ entry: IndexEntry, slot: QueueSlot?, engine: DurableEngine, now: Int64) async throws -> Bool {
        let id = entry.workflowID
        guard let claimed = try? await engine.storage.claim(id) else { return false }  // held or quarantined
        let lease = claimed.lease
        let history = WorkflowHistory(workflowID: id, events: claimed.events)
        // The log is the truth: the index this round planned with may be behind a debounce that
        // moved the start time.
        guard history.end == nil, history.status == .enqueued || history.status == .delayed, let start = history.start,
            (history.fields.delayUntil ?? 0) <= now, let workflow = engine.registeredWorkflow(named: start.name)
        else {
            // (Opening it brought the index up to date if its log had moved on.)
            lease.release()
            return false
        }
        let configuration = engine.configuration
        let attempts = (history.fields.recoveryAttempts ?? 0) + 1
        var delta = IndexDelta()
        delta.updatedAt = now
        if attempts > Int64(configuration.maxRecoveryAttempts) {
            let error = PortableError(
                name: "MaxRecoveryAttemptsExceeded",
                message: "the workflow was started \(attempts - 1) times without finishing")
            try await lease.append([.end(.maxRecoveryAttemptsExceeded, output: nil, error: error, at: now)])
            lease.release()
            return false
        }
        delta.status = .pending
        delta.executorID = configuration.executorID
        delta.startedAt = now
        delta.recoveryAttempts = attempts
        if (history.fields.applicationVersion ?? "").isEmpty {
            delta.applicationVersion = configuration.applicationVersion
        }
        let deadline = history.fields.deadline ?? history.fields.timeoutMilliseconds.map { now + $0 }
        delta.deadline = deadline
        do {
            try await lease.append([.statusChanged(delta)])
        } catch {
            lease.release()
            throw error
        }
        var prefix: [WorkflowEvent] = []
        if attempts > 1 {
            prefix.append(
                .attempt(AttemptRecord(attempt: Int(attempts), executorID: configuration.executorID, at: now)))
        }
        let partition = entry.fields.partitionKey ?? ""
        running.withLock { $0[partition, default: 0] += 1 }
        engine.startExecution(
            workflow, id: id, inputs: history.inputs ?? start.inputs, lease: lease,
            recorded: history.operations, prefix: prefix,
            cleared: history.clearedControls, deadline: deadline
        ) {
            if let slot { self.files.release(slot) }
            self.running.withLock { $0[partition, default: 1] -= 1 }
            self.files.ring()
        }
        return true
    }
}
