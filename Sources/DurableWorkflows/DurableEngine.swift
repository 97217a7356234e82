#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DurableLog
import FoundationEssentials
import Logging
import Synchronization

/// The durable workflow engine: registers workflows, starts them, and recovers the ones whose
/// executor died, from their logs.
///
/// ```swift
/// let engine = try DurableEngine(directory: ".durable", configuration: .init(applicationVersion: "1.4.0"))
/// engine.register(Checkout())
/// try await engine.launch()                    // recovers pending workflows
/// let handle = try await engine.start(Checkout.self, order, id: "order-\(order.id)")
/// let receipt = try await handle.result()
/// ```
///
/// An engine is an instance: several engines on different directories can live in one process,
/// and several processes can share one directory.
public final class DurableEngine: WorkflowReading {
    /// How an engine behaves.
    public struct Configuration: Sendable {
        /// The application version recorded on every workflow; recovery only resumes workflows
        /// started by the same version.
        public var applicationVersion: String
        /// This executor's identity, recorded on the workflows it runs.
        public var executorID: String
        /// How many times a workflow may be recovered before it is moved to
        /// `MAX_RECOVERY_ATTEMPTS_EXCEEDED` (DBOS's default is 100).
        public var maxRecoveryAttempts: Int = 100
        /// How often to look for workflows whose executor died, after ``DurableEngine/launch()``.
        public var recoveryInterval: Duration = .seconds(1)
        /// How often to bring the index up to date with logs nobody holds (what an executor that
        /// died between a log append and its index append left behind: a child the index has
        /// never seen, a finished workflow still listed as running), after ``DurableEngine/launch()``.
        public var indexCatchUpInterval: Duration = .seconds(10)
        /// The largest input, step output, workflow output or message, in bytes of JSON. A step
        /// whose output is larger fails with a `PayloadTooLarge` error (recorded, so replay sees
        /// the same); a larger input or message is refused when it is started or sent.
        public var maxPayloadBytes = 16 << 20
        /// Ended workflows to delete, checked at every index catch-up (`nil`: keep everything).
        public var retention: RetentionPolicy?
        /// The source of time (inject a manual clock in tests).
        public var clock: any DurableClock = SystemDurableClock()
        /// Where the engine logs; workflow and step metadata are attached.
        public var logger = Logger(label: "swift-durable")

        /// A configuration for `applicationVersion`, with a generated executor ID.
        public init(applicationVersion: String = "1", executorID: String? = nil) {
            self.applicationVersion = applicationVersion
            self.executorID = executorID ?? "executor-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        }
    }

    /// The engine's configuration.
    public let configuration: Configuration
    /// Where workflows are created, claimed and recorded.
    public let storage: any WorkflowStore
    let logger: Logger
    private let state = Locked(State())

    private struct State {
        var registry: [String: RegisteredWorkflow] = [:]
        var launched = false
        var running: [String: Execution] = [:]
        var blocked: [String: NonDeterminismError] = [:]
        var sweeper: Task<Void, Never>?
        var stopping = false
        var queues: [String: WorkflowQueue] = [:]
        var dispatchers: [Task<Void, Never>] = []
        var schedules: [String: (schedule: CronSchedule, workflowName: String)] = [:]
    }

    /// Opens (creating if needed) the data directory at `directory` and prepares an engine on
    /// it: the embedded default, per-workflow logs on local disk (``FileWorkflowStore``).
    public convenience init(directory: String = ".durable", configuration: Configuration = Configuration()) throws {
        self.init(store: try FileWorkflowStore(directory: directory), configuration: configuration)
    }

    /// Prepares an engine on `store`, any ``WorkflowStore`` backend (a ``FileWorkflowStore``
    /// opened with options of your own, say).
    public init(store: any WorkflowStore, configuration: Configuration = Configuration()) {
        self.configuration = configuration
        storage = store
        var logger = configuration.logger
        logger[metadataKey: "executor-id"] = "\(configuration.executorID)"
        self.logger = logger
        storage.onFailure { [weak self] error in
            guard let self else { return }
            self.logger.critical(
                "an fsync failed: this engine acknowledges nothing more and stops taking work; restart the process",
                metadata: ["error": "\(error)"])
            Task { await self.stopServing() }
        }
    }

    /// The `PayloadTooLarge` error for `json` if it is larger than ``Configuration/maxPayloadBytes``.
    func payloadTooLarge(_ json: String, _ what: String) -> PortableError? {
        let size = json.utf8.count
        guard size > configuration.maxPayloadBytes else { return nil }
        return PortableError(
            name: "PayloadTooLarge",
            message:
                "\(what) is \(size) bytes of JSON; the limit is \(configuration.maxPayloadBytes) (DurableEngine.Configuration.maxPayloadBytes)"
        )
    }

    /// Throws a ``WorkflowError`` if `json` is larger than ``Configuration/maxPayloadBytes``.
    func checkPayload(_ json: String, _ what: String, workflowID: String? = nil) throws {
        if let error = payloadTooLarge(json, what) {
            throw WorkflowError(error.message, workflowID: workflowID, code: .payloadTooLarge)
        }
    }

    /// Whether the engine serves work, or stopped because its storage can no longer make writes
    /// durable (an `fsync` failed: restart the process, whose recovery re-reads the logs).
    public enum Health: Sendable, Equatable {
        /// Serving.
        case serving
        /// Stopped for good by this storage failure (``WorkflowStoreError/Code/durabilityLost``).
        case stopped(WorkflowStoreError)
    }

    /// The engine's health (see ``Health``).
    public var health: Health { storage.failure.map(Health.stopped) ?? .serving }

    /// Throws the storage failure that stopped the engine, if one did.
    func checkServing() throws {
        if let error = storage.failure { throw error }
    }

    deinit {
        state.withLock { $0.sweeper?.cancel() }
    }

    // MARK: Registration

    /// Registers a workflow type. Register every workflow before ``launch()``.
    public func register<W: Workflow>(_ workflow: W) {
        register(RegisteredWorkflow(workflow))
    }

    /// Registers a workflow given as a closure (handy for tests and small tools).
    public func register<Input: Codable & Sendable, Output: Codable & Sendable>(
        name: String, _ body: @escaping @Sendable (Input, WorkflowContext) async throws -> Output
    ) {
        register(RegisteredWorkflow(name: name, body))
    }

    /// Registers a queue this engine runs workflows from. Register queues before ``launch()``;
    /// enqueueing on a queue needs no registration (any process may enqueue).
    public func register(_ queue: WorkflowQueue) {
        state.withLock { s in
            precondition(!s.launched, "register queue \"\(queue.name)\" before launch()")
            precondition(s.queues[queue.name] == nil, "queue name \"\(queue.name)\" is registered twice")
            s.queues[queue.name] = queue
        }
    }

    /// Runs the workflow registered as `name` (its input is a ``ScheduledRun``) on `schedule`.
    public func schedule(workflowNamed name: String, _ schedule: CronSchedule) {
        state.withLock { s in
            precondition(!s.launched, "register schedule \"\(schedule.name)\" before launch()")
            precondition(s.schedules[schedule.name] == nil, "schedule name \"\(schedule.name)\" is registered twice")
            s.schedules[schedule.name] = (schedule, name)
        }
    }

    private func register(_ workflow: RegisteredWorkflow) {
        state.withLock { s in
            precondition(!s.launched, "register workflow \"\(workflow.name)\" before launch()")
            precondition(s.registry[workflow.name] == nil, "workflow name \"\(workflow.name)\" is registered twice")
            s.registry[workflow.name] = workflow
        }
    }

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
        let queues = state.withLock { s in
            // Every executor serves the internal queue, which carries clients' `start`s.
            if s.queues[WorkflowQueue.internalQueueName] == nil {
                s.queues[WorkflowQueue.internalQueueName] = WorkflowQueue(WorkflowQueue.internalQueueName)
            }
            return Array(s.queues.values)
        }
        var dispatchers: [Task<Void, Never>] = []
        for queue in queues {
            try? await storage.recordQueue(QueueConfiguration(queue))
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

    private func stopServing() async {
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
        for execution in executions { _ = await execution.wait() }
    }

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
        var resumed: [String] = []
        for entry in candidates {
            let id = entry.workflowID
            let (busy, stopping, workflow) = state.withLock { s in
                (s.running[id] != nil || s.blocked[id] != nil, s.stopping, s.registry[entry.name])
            }
            if stopping { break }
            guard !busy else { continue }
            if entry.queueName != nil {
                // Queued workflows go back to their queue, to restart within its limits.
                if (try? await storage.requeueWorkflow(id, at: configuration.clock.nowMilliseconds())) == true {
                    logger.info("requeued a workflow whose executor died", metadata: ["workflow-id": "\(id)"])
                }
                continue
            }
            guard let workflow else {
                logger.warning(
                    "cannot recover a workflow whose name is not registered",
                    metadata: ["workflow-id": "\(id)", "workflow": "\(entry.name)"])
                continue
            }
            // leased by a live executor, or quarantined
            guard let claimed = try? await storage.claim(id) else { continue }
            do {
                if try await resume(workflow, lease: claimed.lease, events: claimed.events, entry: entry) {
                    resumed.append(id)
                }
            } catch {
                claimed.lease.release()
                logger.error("recovery failed", metadata: ["workflow-id": "\(id)", "error": "\(error)"])
            }
        }
        return resumed
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

    // MARK: Starting workflows

    /// Starts `W` in the background and returns its handle.
    ///
    /// The workflow ID is an idempotency key: if a workflow with `id` exists (in this process,
    /// another, or from before a restart), its handle is returned and nothing runs again.
    ///
    /// - Parameter timeout: a durable deadline (`now + timeout`, recorded): past it, the workflow
    ///   is cancelled at its next operation or wait, even after restarts; children inherit it.
    public func start<W: Workflow>(
        _ type: W.Type, _ input: W.Input, id: String? = nil, timeout: Duration? = nil
    ) async throws -> WorkflowHandle<W.Output> {
        try await start(name: W.name, input, id: id, timeout: timeout, as: W.Output.self)
    }

    /// Starts the workflow registered as `name` (for closure-registered workflows).
    public func start<Input: Codable & Sendable, Output: Codable & Sendable>(
        name: String, _ input: Input, id: String? = nil, timeout: Duration? = nil, as output: Output.Type = Output.self
    ) async throws -> WorkflowHandle<Output> {
        let deadline = timeout.map { configuration.clock.nowMilliseconds() + $0.milliseconds }
        return try await start(name: name, input, id: id, parent: nil, timeout: timeout, deadline: deadline)
    }

    /// Starts a workflow, optionally as the child of `parent`, with an optional absolute deadline.
    func start<Input: Codable & Sendable, Output: Codable & Sendable>(
        name: String, _ input: Input, id: String?, parent: String?, timeout: Duration?, deadline: Int64?
    ) async throws -> WorkflowHandle<Output> {
        let (launched, stopping, workflow) = state.withLock { ($0.launched, $0.stopping, $0.registry[name]) }
        guard launched else { throw WorkflowError("call launch() before starting workflows", code: .notServing) }
        try checkServing()
        guard !stopping else { throw WorkflowError("the engine is shut down", code: .notServing) }
        guard let workflow else {
            throw WorkflowError("no workflow is registered as \"\(name)\"", code: .notRegistered)
        }
        let id = id ?? UUID().uuidString.lowercased()
        try LogKey.validate(id)
        let inputs = try WorkflowJSON.inputs(input)
        try checkPayload(inputs, "the input of \"\(name)\"", workflowID: id)
        let now = configuration.clock.nowMilliseconds()
        var fields = IndexFields()
        fields.name = name
        fields.status = .pending
        fields.applicationVersion = configuration.applicationVersion
        fields.executorID = configuration.executorID
        fields.createdAt = now
        fields.updatedAt = now
        fields.recoveryAttempts = 1
        fields.parentWorkflowID = parent
        fields.timeoutMilliseconds = timeout?.milliseconds
        fields.deadline = deadline
        let start = StartRecord(
            name: name, inputs: inputs, applicationVersion: configuration.applicationVersion,
            executorID: configuration.executorID, createdAt: now, deadline: deadline)
        guard let lease = try await storage.create(id, fields: fields, events: [.started(start)]) else {
            try await storage.requireWorkflow(id, isNamed: name)
            logger.debug("workflow exists; returning its handle", metadata: ["workflow-id": "\(id)"])
            return WorkflowHandle(workflowID: id, engine: self)
        }
        startExecution(workflow, id: id, inputs: inputs, lease: lease, recorded: [:], prefix: [], deadline: deadline)
        return WorkflowHandle(workflowID: id, engine: self, created: true)
    }

    /// Starts `W` and waits for its result.
    public func run<W: Workflow>(_ type: W.Type, _ input: W.Input, id: String? = nil) async throws -> W.Output {
        try await start(type, input, id: id).result()
    }

    /// A handle to an existing workflow (started by this process or another).
    public func handle<Output: Codable & Sendable>(
        for id: String, as output: Output.Type = Output.self
    ) -> WorkflowHandle<Output> {
        WorkflowHandle(workflowID: id, engine: self)
    }

    // MARK: Execution

    /// The in-process execution of workflow `id`, if it runs here.
    func runningExecution(_ id: String) -> Execution? { state.withLock { $0.running[id] } }

    /// The workflow registered as `name`.
    func registeredWorkflow(named name: String) -> RegisteredWorkflow? { state.withLock { $0.registry[name] } }

    /// Runs a workflow just forked by ``fork(_:fromStep:newID:as:)`` (the lease is held).
    func startForked(
        _ workflow: RegisteredWorkflow, id: String, inputs: String, lease: any WorkflowLease,
        recorded: [Int: OperationRecord], deadline: Int64?
    ) {
        startExecution(
            workflow, id: id, inputs: inputs, lease: lease, recorded: recorded, prefix: [], deadline: deadline)
    }

    /// Runs a workflow just resumed by ``resume(_:as:)`` (the lease is held).
    func startResumed(
        _ workflow: RegisteredWorkflow, id: String, inputs: String, lease: any WorkflowLease,
        recorded: [Int: OperationRecord], cleared: Set<String>, deadline: Int64?
    ) {
        startExecution(
            workflow, id: id, inputs: inputs, lease: lease, recorded: recorded, prefix: [], cleared: cleared,
            deadline: deadline)
    }

    /// Runs `workflow` (whose `lease` this executor holds) in the background; `onFinish` runs
    /// once it stops, however it stops.
    func startExecution(
        _ workflow: RegisteredWorkflow, id: String, inputs: String, lease: any WorkflowLease,
        recorded: [Int: OperationRecord], prefix: [WorkflowEvent], cleared: Set<String> = [], deadline: Int64? = nil,
        onFinish: (@Sendable () -> Void)? = nil
    ) {
        // The context exists before the execution is visible to `cancel`, so a cancel right
        // after the start is never lost: it marks the context, which the first operation checks.
        let context = WorkflowContext(
            workflowID: id, workflowName: workflow.name, lease: lease, recorded: recorded, pendingPrefix: prefix,
            clock: configuration.clock, logger: logger, engine: self, clearedControls: cleared, deadline: deadline)
        let execution = Execution()
        execution.context.withLock { $0 = context }
        let stopping = state.withLock { s in
            if !s.stopping { s.running[id] = execution }
            return s.stopping
        }
        if stopping {
            // Shut down between taking the lease and starting: leave the workflow for the next executor.
            lease.release()
            onFinish?()
            return
        }
        let task = Task {
            let outcome = await self.execute(workflow, context: context, inputs: inputs)
            lease.release()
            onFinish?()
            self.state.withLock { s in
                s.running[id] = nil
                if case .failure(let error) = outcome, let error = error as? NonDeterminismError {
                    s.blocked[id] = error
                }
            }
            execution.finish(outcome)
        }
        execution.task.withLock { $0 = task }
        if context.isCancelRequested { task.cancel() }  // asked between registration and here
    }

    /// Runs the body and records the outcome. Returns the output JSON or the error.
    private func execute(
        _ workflow: RegisteredWorkflow, context: WorkflowContext, inputs: String
    ) async -> Result<String, any Error> {
        let clock = configuration.clock
        do {
            let output = try await workflow.body(inputs, context)
            if let (functionID, record) = context.unreplayedOperation() {
                throw NonDeterminismError(
                    workflowID: context.workflowID, workflowName: workflow.name, functionID: functionID,
                    recorded: "\(record.kind) \"\(record.name)\"", current: nil)
            }
            try await context.checkCancellation()  // a cancel that arrived after the last operation still wins
            if let tooLarge = payloadTooLarge(output, "the workflow's output") {
                try await finish(context, status: .error, output: nil, error: tooLarge, at: clock.nowMilliseconds())
                return .failure(tooLarge)
            }
            try await finish(context, status: .success, output: output, error: nil, at: clock.nowMilliseconds())
            let counts = context.counts
            context.logger.info(
                "workflow succeeded", metadata: ["replayed": "\(counts.replayed)", "executed": "\(counts.executed)"])
            return .success(output)
        } catch {
            if error is WorkflowCancelledError
                || ((error is CancellationError || Task.isCancelled) && context.isCancelRequested)
            {
                let cancelled =
                    error as? WorkflowCancelledError ?? WorkflowCancelledError(workflowID: context.workflowID)
                do {
                    try await context.append([
                        .end(.cancelled, output: nil, error: cancelled.portable, at: clock.nowMilliseconds())
                    ])
                } catch {
                    return .failure(error)
                }
                context.logger.info("workflow cancelled")
                return .failure(cancelled.portable)
            }
            if Task.isCancelled
                && !(error is NonDeterminismError || error is StorageError || error is WorkflowStoreError)
            {
                // A shutdown interrupted it (whatever the body threw then): it stays PENDING and
                // continues where it was in the next executor.
                context.logger.info(
                    "workflow interrupted by shutdown; it stays pending", metadata: ["error": "\(error)"])
                return .failure(error)
            }
            if let damaged = error as? WorkflowStoreError, damaged.code == .damaged,
                damaged.workflowID == context.workflowID
            {
                // A damaged inbox does not heal (the store confirmed it against its writers):
                // quarantine the workflow rather than recover it into the same failure every second.
                let reason = damaged.message
                do {
                    try await storage.quarantine(context.workflowID, reason: reason)
                } catch {
                    context.logger.error("could not quarantine the workflow", metadata: ["error": "\(error)"])
                }
                context.logger.error("workflow quarantined", metadata: ["reason": "\(reason)"])
                return .failure(QuarantinedWorkflowError(workflowID: context.workflowID, reason: reason))
            }
            if error is NonDeterminismError || error is CancellationError || error is StorageError
                || error is WorkflowStoreError
            {
                // Nothing is recorded: the log stays as it was and the workflow stays PENDING (a
                // lease lost to another executor included: the new owner runs it).
                context.logger.error("workflow stopped without recording an outcome", metadata: ["error": "\(error)"])
                return .failure(error)
            }
            let portable = PortableError(error)
            do {
                try await finish(context, status: .error, output: nil, error: portable, at: clock.nowMilliseconds())
            } catch {
                return .failure(error)
            }
            context.logger.info("workflow failed", metadata: ["error": "\(portable)"])
            return .failure(portable)
        }
    }

    private func finish(
        _ context: WorkflowContext, status: WorkflowStatus, output: String?, error: PortableError?, at time: Int64
    ) async throws {
        try await context.append([.end(status, output: output, error: error, at: time)])
    }

    // MARK: Results

    /// Why this process stopped workflow `id` without an outcome (non-determinism), if it did.
    func blockedReason(_ id: String) -> NonDeterminismError? { state.withLock { $0.blocked[id] } }
}

/// One in-process execution of a workflow, and whoever waits for its outcome.
final class Execution: Sendable {
    let task = Locked<Task<Void, Never>?>(nil)
    let context = Locked<WorkflowContext?>(nil)

    /// Cancels the workflow: it records `CANCELLED` at its next operation (or at once if waiting).
    func requestCancel() {
        context.withLock { $0 }?.requestCancel()
        task.withLock { $0 }?.cancel()
    }
    private let state = Locked<
        (outcome: Result<String, any Error>?, waiters: [CheckedContinuation<Result<String, any Error>, Never>])
    >((nil, []))

    func finish(_ outcome: Result<String, any Error>) {
        let waiters = state.withLock { s in
            s.outcome = outcome
            defer { s.waiters = [] }
            return s.waiters
        }
        for waiter in waiters { waiter.resume(returning: outcome) }
    }

    func wait() async -> Result<String, any Error> {
        await withCheckedContinuation { continuation in
            let done = state.withLock { s -> Result<String, any Error>? in
                if let outcome = s.outcome { return outcome }
                s.waiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }
}
