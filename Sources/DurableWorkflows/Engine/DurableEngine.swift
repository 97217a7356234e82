#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DurableStorage
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
        /// The least severe level the engine logs at (the ``logger``'s own; `.info` by default).
        public var logLevel: Logger.Level {
            get { logger.logLevel }
            set { logger.logLevel = newValue }
        }

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
    let state = Locked(State())

    struct State {
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
}
