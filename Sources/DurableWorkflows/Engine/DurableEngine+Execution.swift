#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DurableStorage
import FoundationEssentials
import Logging
import Synchronization

/// Starting workflows and running them: one task per execution, recorded through its lease.
extension DurableEngine {
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
        try WorkflowJSON.checkedName(id, what: "a workflow ID", allowsEmpty: false)
        let inputs = try WorkflowJSON.inputs(input)
        try checkPayload(inputs, "the input of \"\(name)\"", workflowID: id)
        let now = configuration.clock.nowMilliseconds()
        var fields = WorkflowFields()
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
            onFinish?()
            lease.release()
            return
        }
        let task = Task {
            let outcome = await self.execute(workflow, context: context, inputs: inputs)
            // Counted out before the lease goes: releasing it wakes the queue's dispatchers, which
            // must see this execution gone from the count, or the freed place waits for a later wake.
            onFinish?()
            lease.release()
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
                && !(error is NonDeterminismError || error is WorkflowStoreError)
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
            if error is NonDeterminismError || error is CancellationError
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
    private let state = Locked<ExecutionWaiters>(ExecutionWaiters())

    func finish(_ outcome: Result<String, any Error>) {
        let waiters = state.withLock { s in
            s.outcome = outcome
            defer { s.waiters = [:] }
            return s.waiters.values
        }
        for waiter in waiters { waiter.resume(returning: outcome) }
    }

    /// The execution's outcome, once it has one. A cancelled caller stops waiting at once with
    /// `CancellationError` in the result (the execution itself goes on).
    func wait() async -> Result<String, any Error> {
        let ticket = state.withLock { s in
            defer { s.nextTicket += 1 }
            return s.nextTicket
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let done = state.withLock { s -> Result<String, any Error>? in
                    if let outcome = s.outcome { return outcome }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    s.waiters[ticket] = continuation
                    return nil
                }
                if let done { continuation.resume(returning: done) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: ticket) }?.resume(returning: .failure(CancellationError()))
        }
    }
}

/// An execution's outcome and whoever waits for it, each under a ticket so a cancelled waiter
/// can leave.
private struct ExecutionWaiters {
    var outcome: Result<String, any Error>?
    var waiters: [UInt64: CheckedContinuation<Result<String, any Error>, Never>] = [:]
    var nextTicket: UInt64 = 0
}
