import DurableStorage
import FoundationEssentials
import Logging
import Synchronization

/// Launching, shutting down, and recovering the workflows of executors that died.
extension DurableEngine {
    // MARK: Launch and recovery

    /// Brings the index up to date with the logs, recovers every pending workflow of this
    /// application version whose executor is gone, and keeps looking for such workflows every
    /// ``Configuration/recoveryInterval`` until ``shutdown()``.
    ///
    /// - Returns: the IDs of the workflows this call resumed.
    @discardableResult
    public func launch() async throws -> [String] {
        let already = state.withLock { s in
            defer { s.launched = true }
            return s.launched
        }
        if already { return [] }
        let repair = try await storage.repair(.launch)
        if let rebuilt = repair.rebuilt {
            logger.warning(
                "the workflow index was unusable and was rebuilt from the logs", metadata: ["reason": "\(rebuilt)"])
        }
        if repair.removedLeftovers > 0 {
            logger.info(
                "removed temporary files left by writers that died", metadata: ["count": "\(repair.removedLeftovers)"])
        }
        let recovered = await recoverPendingWorkflows()
        if !recovered.isEmpty { logger.info("recovering workflows", metadata: ["count": "\(recovered.count)"]) }
        let interval = configuration.recoveryInterval, catchUpInterval = configuration.indexCatchUpInterval
        let sweeper = Task { [weak self] in
            var lastCatchUp = ContinuousClock.now
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self else { return }
                if ContinuousClock.now - lastCatchUp >= catchUpInterval {
                    lastCatchUp = .now
                    do {
                        let repaired = try await self.storage.repair(.unowned).reconciled
                        if repaired > 0 {
                            self.logger.info(
                                "index caught up with logs left by a dead executor", metadata: ["count": "\(repaired)"])
                        }
                        if let retention = self.configuration.retention {
                            let deleted = try await self.garbageCollect(retention)
                            if !deleted.isEmpty {
                                self.logger.info(
                                    "deleted ended workflows (retention)", metadata: ["count": "\(deleted.count)"])
                            }
                        }
                    } catch {
                        self.logger.warning("index catch-up or retention failed", metadata: ["error": "\(error)"])
                    }
                }
                _ = await self.recoverPendingWorkflows()
            }
        }
        let (queues, names) = state.withLock { s in
            // Every executor serves the internal queue, which carries clients' `start`s.
            if s.queues[WorkflowQueue.internalQueueName] == nil {
                s.queues[WorkflowQueue.internalQueueName] = WorkflowQueue(WorkflowQueue.internalQueueName)
            }
            return (Array(s.queues.values), s.registry.keys.sorted())
        }
        var dispatchers: [Task<Void, Never>] = []
        for queue in queues {
            try? await storage.recordQueue(QueueConfiguration(queue, workflowNames: names))
            let dispatcher = QueueDispatcher(queue: queue, engine: self)
            dispatchers.append(Task { await dispatcher.run() })
        }
        let launchedAt = configuration.clock.nowMilliseconds()  // every schedule fires the ticks after this
        for (schedule, workflowName) in state.withLock({ Array($0.schedules.values) }) {
            let runner = ScheduleRunner(schedule: schedule, workflowName: workflowName, engine: self)
            dispatchers.append(Task { await runner.run(from: launchedAt) })
        }
        state.withLock {
            $0.sweeper = sweeper
            $0.dispatchers = dispatchers
        }
        return recovered
    }

    /// Stops looking for work and cancels running workflows (they stay `PENDING` and are
    /// recovered by the next executor), then waits for them to release their leases.
    public func shutdown() async { await stopServing() }

    func stopServing() async {
        let (sweeper, dispatchers) = state.withLock { s in
            s.stopping = true
            defer {
                s.sweeper = nil
                s.dispatchers = []
            }
            return (s.sweeper, s.dispatchers)
        }
        sweeper?.cancel()
        for dispatcher in dispatchers { dispatcher.cancel() }
        await sweeper?.value  // a sweep in flight must not start work after this point
        for dispatcher in dispatchers { await dispatcher.value }
        let executions = state.withLock { Array($0.running.values) }
        for execution in executions { execution.task.withLock { $0 }?.cancel() }
        // In a task of its own: a cancelled caller still returns only once every execution has ended.
        await Task { for execution in executions { _ = await execution.wait() } }.value
    }

    /// How many recoveries claim, count their attempt and start at once. Each waits on its own log
    /// (a read, a lock, an fsync), so overlapping them keeps the I/O threads and the disk's queue
    /// busy: 1,000 workflows recover in 0.45 s at 64, 0.50 s at 16 and 0.58 s one at a time.
    static let recoveryConcurrency = 64

    /// Resumes every pending workflow whose lease is free (its executor died).
    func recoverPendingWorkflows() async -> [String] {
        guard storage.failure == nil else { return [] }  // nothing can be recorded any more
        let candidates: [WorkflowSummary]
        do {
            candidates = try await storage.recoverable(applicationVersion: configuration.applicationVersion)
        } catch {
            logger.error("recovery could not list pending workflows", metadata: ["error": "\(error)"])
            return []
        }
        var resumed: [(position: Int, id: String)] = []
        await withTaskGroup(of: (position: Int, id: String)?.self) { group in
            var inFlight = 0
            for (position, entry) in candidates.enumerated() {
                if inFlight == Self.recoveryConcurrency, let done = await group.next() {
                    inFlight -= 1
                    if let done { resumed.append(done) }
                }
                if state.withLock({ $0.stopping }) { break }
                group.addTask { await self.recover(entry) ? (position, entry.workflowID) : nil }
                inFlight += 1
            }
            for await done in group { if let done { resumed.append(done) } }
        }
        return resumed.sorted { $0.position < $1.position }.map(\.id)  // in the order they were created
    }

    /// Recovers one pending workflow if this executor can: requeues a queued one, resumes one it
    /// can claim; returns whether it resumed it here.
    private func recover(_ entry: WorkflowSummary) async -> Bool {
        let id = entry.workflowID
        let (busy, stopping, workflow) = state.withLock { s in
            (s.running[id] != nil || s.blocked[id] != nil, s.stopping, s.registry[entry.name])
        }
        guard !busy, !stopping else { return false }
        if entry.queueName != nil {
            // Queued workflows go back to their queue, to restart within its limits.
            if (try? await storage.requeueWorkflow(id, at: configuration.clock.nowMilliseconds())) == true {
                logger.info("requeued a workflow whose executor died", metadata: ["workflow-id": "\(id)"])
            }
            return false
        }
        guard let workflow else {
            logger.warning(
                "cannot recover a workflow whose name is not registered",
                metadata: ["workflow-id": "\(id)", "workflow": "\(entry.name)"])
            return false
        }
        // leased by a live executor, or quarantined
        guard let claimed = try? await storage.claim(id) else { return false }
        do {
            return try await resume(workflow, lease: claimed.lease, events: claimed.events, entry: entry)
        } catch {
            claimed.lease.release()
            logger.error("recovery failed", metadata: ["workflow-id": "\(id)", "error": "\(error)"])
            return false
        }
    }

    /// Takes over a workflow whose lease this process now holds.
    private func resume(
        _ workflow: RegisteredWorkflow, lease: any WorkflowLease, events: [WorkflowEvent], entry: WorkflowSummary
    ) async throws -> Bool {
        let history = WorkflowHistory(workflowID: entry.workflowID, events: events)
        guard history.end == nil, let start = history.start else {
            lease.release()
            return false
        }
        let attempts = Int(history.fields.recoveryAttempts ?? 1)
        let now = configuration.clock.nowMilliseconds()
        if attempts > configuration.maxRecoveryAttempts {
            let error = PortableError(
                name: "MaxRecoveryAttemptsExceeded",
                message: "the workflow was recovered \(attempts - 1) times without finishing")
            try await lease.append([.end(.maxRecoveryAttemptsExceeded, output: nil, error: error, at: now)])
            lease.release()
            logger.warning("workflow exceeded its recovery attempts", metadata: ["workflow-id": "\(entry.workflowID)"])
            return false
        }
        let attempt = AttemptRecord(attempt: attempts + 1, executorID: configuration.executorID, at: now)
        // Counted as recovery starts (as DBOS does), before replay: a workflow whose replay
        // crashes the process still uses up its attempts and ends MAX_RECOVERY_ATTEMPTS_EXCEEDED.
        do {
            try await lease.append([.attempt(attempt)])
        } catch {
            lease.release()
            throw error
        }
        startExecution(
            workflow, id: entry.workflowID, inputs: start.inputs, lease: lease, recorded: history.operations,
            prefix: [],
            cleared: history.clearedControls, deadline: history.fields.deadline)
        return true
    }
}
