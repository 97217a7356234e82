import DurableStorage
import FoundationEssentials
import Logging
import Synchronization

/// What a running workflow uses to checkpoint its steps, handed to ``Workflow/run(_:context:)``.
///
/// Every operation takes the next position (`function_id` 1, 2, 3, ... as in DBOS). When the
/// workflow is replayed after a crash, an operation whose result is in the log returns that
/// result instead of running again; the recorded kind and name must match the code's, or the
/// workflow stops with a ``NonDeterminismError``. Run a workflow's operations one at a time.
public final class WorkflowContext: Sendable {
    /// The workflow's ID.
    public let workflowID: String
    /// The registered workflow name.
    public let workflowName: String
    /// A logger with the workflow's ID in its metadata.
    public let logger: Logger

    /// The right to append to the workflow's history.
    let lease: any WorkflowLease
    let clock: any DurableClock
    /// The absolute deadline (Unix ms on `clock`), if the workflow has a timeout.
    public let deadline: Int64?
    /// The engine running the workflow (weak: a context never keeps an engine alive).
    weak let engine: DurableEngine?
    /// What this workflow has read of its inbox so far (messages for `recv`, cancel requests).
    let inbox: InboxReader?
    /// Whether this is a ``WorkflowReplayer`` run: every operation must come from the log (the
    /// first one that does not ends the replay, before anything runs), waits end at once, and
    /// nothing is read from the inbox or written anywhere.
    let replaying: Bool
    /// In a replay, whether the recorded run ended (then a patch point past its log is the old path).
    let replayedRunEnded: Bool
    private let state: Locked<State>

    struct State {
        var nextFunctionID = 1
        var recorded: [Int: OperationRecord]
        /// Events to record before the first new operation (a recovery attempt), if any.
        var pendingPrefix: [WorkflowEvent]
        var replayedCount = 0
        var executedCount = 0
        /// Cancel requests voided by a resume.
        var clearedControls: Set<String> = []
        var cancelRequested = false
        /// Where a replay found the end of the log (the first operation the log does not hold).
        var logEnd: ReplayLogEnd?
    }

    init(
        workflowID: String, workflowName: String, lease: any WorkflowLease, recorded: [Int: OperationRecord],
        pendingPrefix: [WorkflowEvent], clock: any DurableClock, logger: Logger, engine: DurableEngine?,
        clearedControls: Set<String> = [], deadline: Int64? = nil, replaying: Bool = false,
        replayedRunEnded: Bool = false
    ) {
        self.deadline = deadline
        self.engine = engine
        self.replaying = replaying
        self.replayedRunEnded = replayedRunEnded
        inbox = replaying ? nil : engine.map { InboxReader(storage: $0.storage, workflowID: workflowID) }
        self.workflowID = workflowID
        self.workflowName = workflowName
        self.lease = lease
        self.clock = clock
        var logger = logger
        logger[metadataKey: "workflow-id"] = "\(workflowID)"
        logger[metadataKey: "workflow"] = "\(workflowName)"
        self.logger = logger
        state = Locked(State(recorded: recorded, pendingPrefix: pendingPrefix, clearedControls: clearedControls))
    }

    /// How many operations were answered from the log, and how many ran, in this execution.
    public var counts: (replayed: Int, executed: Int) { state.withLock { ($0.replayedCount, $0.executedCount) } }

    /// Runs `body` as a checkpointed step and returns its result.
    ///
    /// If the log already holds this step's result (the workflow is being recovered), the body
    /// does not run: the recorded result is returned, or the recorded error is thrown. Otherwise
    /// the body runs (with retries per `retry`), and its result or final error is made durable
    /// before this returns. A step interrupted by a crash before its checkpoint runs again, so
    /// bodies must be idempotent (at-least-once); a checkpointed step never runs again.
    ///
    /// - Throws: `PortableError` carrying the step's final error (on first execution and on
    ///   replay alike), ``NonDeterminismError``, or a storage error.
    public func step<T: Codable & Sendable>(
        _ name: String, retry: StepRetryPolicy = .none, _ body: () async throws -> T
    ) async throws -> T {
        let outcome = try await operation(kind: "step", name: name, retry: retry) {
            try WorkflowJSON.encodeText(try await body())
        }
        return try WorkflowJSON.decode(T.self, fromText: outcome)
    }

    /// Runs `body` as a checkpointed step that returns nothing (recorded as JSON `null`).
    public func step(_ name: String, retry: StepRetryPolicy = .none, _ body: () async throws -> Void) async throws {
        _ = try await operation(kind: "step", name: name, retry: retry) {
            try await body()
            return "null"
        }
    }

    /// The current time, recorded so that replay sees the same instant.
    public func now() async throws -> Date {
        let ms = try await operation(kind: "now", name: "now", retry: .none) { String(clock.nowMilliseconds()) }
        return Date(timeIntervalSince1970: Double(Int64(ms) ?? 0) / 1000)
    }

    /// A random UUID, recorded so that replay sees the same value.
    public func uuid() async throws -> UUID {
        let text = try await operation(kind: "uuid", name: "uuid", retry: .none) {
            try WorkflowJSON.encodeText(UUID().uuidString)
        }
        guard let uuid = UUID(uuidString: try WorkflowJSON.decode(String.self, fromText: text)) else {
            throw WorkflowError("the recorded UUID is malformed", workflowID: workflowID, code: .unreadableRecord)
        }
        return uuid
    }

    /// A random integer in `range`, recorded so that replay sees the same value.
    public func random(in range: ClosedRange<Int>) async throws -> Int {
        let text = try await operation(kind: "random", name: "random", retry: .none) { String(Int.random(in: range)) }
        guard let value = Int(text) else {
            throw WorkflowError(
                "the recorded random number is malformed", workflowID: workflowID, code: .unreadableRecord)
        }
        return value
    }

    /// Sleeps durably: the wake-up time is recorded first, so a workflow recovered mid-sleep
    /// sleeps only the remainder (recorded as `DBOS.sleep`, epoch seconds, as DBOS does).
    public func sleep(for duration: Duration) async throws {
        let total = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        let wake = try await operation(kind: "sleep", name: "DBOS.sleep", retry: .none) {
            String(Double(clock.nowMilliseconds() + total) / 1000)
        }
        let wakeMilliseconds = Int64(((Double(wake) ?? 0) * 1000).rounded())
        try await interruptibleByCancel { try await self.wait(until: wakeMilliseconds) }
    }

    /// Waits on the clock until `time`, or until the deadline, whichever is first; past the
    /// deadline the workflow is cancelled.
    func wait(until time: Int64) async throws {
        if replaying { return }  // a replay does not wait: what the wait led to is in the log
        let end = min(time, deadline ?? Int64.max)
        let remaining = end - clock.nowMilliseconds()
        if remaining > 0 { try await clock.sleep(for: .milliseconds(remaining)) }
        try await checkCancellation()
    }

    /// Publishes `value` under `key` for anyone to read with ``DurableEngine/getEvent(_:key:as:timeout:)``,
    /// from this process or another, while the workflow runs or after it finished. The latest
    /// value per key wins; every value is kept in the log (`DBOS.setEvent`).
    public func setEvent<Value: Encodable & Sendable>(_ key: String, _ value: Value) async throws {
        try WorkflowJSON.checkedName(key, what: "the event key")
        let json = try WorkflowJSON.encodeText(value)
        _ = try await operation(kind: "setEvent", name: "DBOS.setEvent", retry: .none, key: key) { json }
    }

    /// Waits up to `timeout` for workflow `id` to set event `key` and returns its latest value
    /// (`nil` on timeout, or if `id` finished without setting it), as a recorded operation.
    ///
    /// As in DBOS, it takes two positions: the deadline is recorded first (`DBOS.sleep`), so a
    /// workflow recovered mid-wait waits only the remainder, and the value read (`DBOS.getEvent`)
    /// after, so replay returns the same value without reading again.
    public func getEvent<Value: Decodable & Sendable>(
        of id: String, key: String, as type: Value.Type = Value.self, timeout: Duration = .seconds(60)
    ) async throws -> Value? {
        try await checkCancellation()
        let getID = takePositions(2)
        let sleepID = getID + 1
        if let recorded = try replayed(getID, kind: "getEvent", name: "DBOS.getEvent", key: key) {
            return try recorded.output.flatMap {
                $0 == "null" ? nil : try WorkflowJSON.decode(Value.self, fromText: $0)
            }
        }
        guard let engine else {
            throw WorkflowError("this context has no engine", workflowID: workflowID, code: .notServing)
        }
        try await append([])  // a pending recovery attempt is recorded before anything new happens
        let wakeMilliseconds = try await recordedDeadline(at: sleepID, after: timeout)
        let startedAt = clock.nowMilliseconds()
        let remaining = max(0, min(wakeMilliseconds, deadline ?? .max) - startedAt)
        let json = try await interruptibleByCancel {
            try await engine.storage.eventJSON(of: id, key: key, timeout: .milliseconds(remaining))
        }
        if json == nil { try await checkCancellation() }  // the workflow's deadline may have ended the wait
        try await record(
            OperationRecord(
                functionID: getID, name: "DBOS.getEvent", kind: "getEvent", output: json ?? "null", error: nil,
                startedAt: startedAt, completedAt: clock.nowMilliseconds(), attempts: 1, key: key))
        return try json.map { try WorkflowJSON.decode(Value.self, fromText: $0) }
    }

    /// The deadline of a wait that takes position `sleepID` for it (`recv`, `getEvent`): the one
    /// recorded there, or `timeout` from now, recorded now as `DBOS.sleep` (epoch seconds).
    func recordedDeadline(at sleepID: Int, after timeout: Duration) async throws -> Int64 {
        if let recorded = try replayed(sleepID, kind: "sleep", name: "DBOS.sleep") {
            return Int64(((Double(recorded.output ?? "0") ?? 0) * 1000).rounded())
        }
        let now = clock.nowMilliseconds()
        let wake = now + timeout.milliseconds
        try await record(
            OperationRecord(
                functionID: sleepID, name: "DBOS.sleep", kind: "sleep", output: String(Double(wake) / 1000),
                error: nil, startedAt: now, completedAt: now, attempts: 1))
        return wake
    }

    // MARK: The operation protocol

    /// Takes the next position; returns the recorded output or runs `execute` and records it.
    func operation(
        kind: String, name: String, retry: StepRetryPolicy, key: String? = nil, topic: String? = nil,
        childWorkflowID: String? = nil, _ execute: () async throws -> String
    ) async throws -> String {
        try await checkCancellation()
        let functionID = takePositions(1)
        if let recorded = try replayed(functionID, kind: kind, name: name, key: key, topic: topic) {
            if let error = recorded.error { throw error }
            return recorded.output ?? "null"
        }
        // A queued workflow's start attempt is recorded with the first operation that runs anew.
        try await append([])
        let startedAt = clock.nowMilliseconds()
        var attempt = 1
        var result: Result<String, PortableError>
        while true {
            do {
                try Task.checkCancellation()
                let step = StepContext(workflowID: workflowID, functionID: functionID, name: name, attempt: attempt)
                let output = try await StepContext.$current.withValue(step) { try await execute() }
                if let tooLarge = engine?.payloadTooLarge(output, "the output of \(kind) \"\(name)\"") {
                    result = .failure(tooLarge)  // recorded as the operation's error: replay sees the same
                } else {
                    result = .success(output)
                }
                break
            } catch {
                // Whatever a step throws once its task is cancelled (a shutdown, a cancel) is the
                // interruption talking, not the step's outcome: nothing is recorded, and the step
                // runs again when the workflow is recovered.
                if Task.isCancelled || error is CancellationError || error is WorkflowCancelledError { throw error }
                logger.info("step failed", metadata: ["step": "\(name)", "attempt": "\(attempt)", "error": "\(error)"])
                if attempt >= retry.maxAttempts {
                    result = .failure(PortableError(error))
                    break
                }
                try await clock.sleep(for: retry.delay(afterAttempt: attempt))
                attempt += 1
            }
        }
        var completed = OperationRecord(
            functionID: functionID, name: name, kind: kind, output: nil, error: nil, startedAt: startedAt,
            completedAt: clock.nowMilliseconds(), attempts: attempt, childWorkflowID: childWorkflowID, key: key,
            topic: topic)
        switch result {
        case .success(let output): completed.output = output
        case .failure(let error): completed.error = error
        }
        try await record(completed)
        return try result.get()
    }

    /// Marks the workflow cancelled from this process (its task is cancelled too).
    func requestCancel() { state.withLock { $0.cancelRequested = true } }

    /// Whether a cancellation was requested or observed.
    var isCancelRequested: Bool { state.withLock { $0.cancelRequested } }

    /// The cancel requests voided by a resume.
    var clearedControls: Set<String> { state.withLock { $0.clearedControls } }

    /// Throws ``WorkflowCancelledError`` if someone (any process) asked to cancel this workflow.
    /// Cheap when nothing happened: the inbox is read only when the store tells it may have changed.
    func checkCancellation() async throws {
        if replaying { return }  // a replay takes the recorded path, cancelled or not
        if isCancelRequested { throw WorkflowCancelledError(workflowID: workflowID) }
        if let deadline, clock.nowMilliseconds() >= deadline {
            requestCancel()
            throw WorkflowCancelledError(workflowID: workflowID, deadlinePassed: true)
        }
        guard let inbox, inbox.mayHaveNews else { return }
        try await inbox.refresh()
        if inbox.cancelRequested(cleared: clearedControls) {
            requestCancel()
            throw WorkflowCancelledError(workflowID: workflowID)
        }
    }

    /// Runs `body` (a long wait: a sleep, a child's result) so that a cancel request from any
    /// process ends it at once, instead of at the next operation: the inbox is watched meanwhile.
    func interruptibleByCancel<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        guard let engine, !replaying else { return try await body() }
        // A reader of its own: the context's may be read by the operation that waits.
        let watcher = InboxReader(storage: engine.storage, workflowID: workflowID)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                while true {
                    try await watcher.refresh()
                    if watcher.cancelRequested(cleared: self.clearedControls) {
                        self.requestCancel()
                        throw WorkflowCancelledError(workflowID: self.workflowID)
                    }
                    try Task.checkCancellation()
                    await watcher.waitForNews(timeout: .seconds(1))
                    try Task.checkCancellation()
                }
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let value = next { return value }
            }
            throw CancellationError()
        }
    }

    /// The position the next operation will take.
    var nextPosition: Int { state.withLock { $0.nextFunctionID } }

    /// Reserves the next `count` positions and returns the first.
    func takePositions(_ count: Int) -> Int {
        state.withLock { s in
            defer { s.nextFunctionID += count }
            return s.nextFunctionID
        }
    }

    /// The recorded operation at `functionID`, checked against the code's kind and name, and,
    /// where both the code and the record have one, its key (a destination, an event or stream
    /// key) and topic. Nil if nothing is recorded there (in a replay: the log ends here, thrown).
    func replayed(
        _ functionID: Int, kind: String, name: String, key: String? = nil, topic: String? = nil
    ) throws -> OperationRecord? {
        guard let recorded = state.withLock({ $0.recorded[functionID] }) else {
            guard replaying else { return nil }
            let end = ReplayLogEnd(
                position: functionID, operation: Self.describe(kind, name, key: key, topic: topic))
            state.withLock { s in if s.logEnd == nil { s.logEnd = end } }
            throw end
        }
        let keyDiffers = key != nil && recorded.key != nil && key != recorded.key
        let topicDiffers = topic != nil && recorded.topic != nil && topic != recorded.topic
        guard recorded.kind == kind, recorded.name == name, !keyDiffers, !topicDiffers else {
            throw NonDeterminismError(
                workflowID: workflowID, workflowName: workflowName, functionID: functionID,
                recorded: Self.describe(
                    recorded.kind, recorded.name, key: keyDiffers ? recorded.key : nil,
                    topic: topicDiffers ? recorded.topic : nil),
                current: Self.describe(
                    kind, name, key: keyDiffers ? key : nil, topic: topicDiffers ? topic : nil))
        }
        state.withLock { $0.replayedCount += 1 }
        logger.debug("replayed", metadata: ["step": "\(name)", "function-id": "\(functionID)"])
        return recorded
    }

    /// An operation as reports name it: `step "charge"`, `send "DBOS.send" (key "b")`.
    static func describe(_ kind: String, _ name: String, key: String? = nil, topic: String? = nil) -> String {
        var text = "\(kind) \"\(name)\""
        if let key { text += " (key \"\(key)\")" }
        if let topic { text += topic.isEmpty ? " (no topic)" : " (topic \"\(topic)\")" }
        return text
    }

    /// What the log holds at `position`, unchecked.
    func recordedOperation(at position: Int) -> OperationRecord? { state.withLock { $0.recorded[position] } }

    /// Where a replay found the end of the log, if it did.
    var logEnd: ReplayLogEnd? { state.withLock { $0.logEnd } }

    /// Appends an operation's record durably (after any pending recovery-attempt records).
    func record(_ operation: OperationRecord) async throws {
        try await append([.operation(operation)])
        state.withLock { s in
            s.executedCount += 1
            s.recorded[operation.functionID] = operation
        }
        logger.debug(
            "checkpointed",
            metadata: [
                "step": "\(operation.name)", "function-id": "\(operation.functionID)",
                "attempts": "\(operation.attempts)",
            ])
    }

    /// The message IDs consumed by `recv` so far (recorded or executed).
    var consumedMessages: Set<String> {
        state.withLock { s in Set(s.recorded.values.filter { $0.kind == "recv" }.compactMap(\.key)) }
    }

    /// Appends events durably, preceded by any pending recovery-attempt events.
    func append(_ events: [WorkflowEvent]) async throws {
        let prefix = state.withLock { s in
            defer { s.pendingPrefix = [] }
            return s.pendingPrefix
        }
        let all = prefix + events
        if !all.isEmpty { try await lease.append(all) }
    }

    /// Positions recorded but not reached by the code (checked when the workflow returns).
    func unreplayedOperation() -> (functionID: Int, record: OperationRecord)? {
        state.withLock { s in
            guard let next = s.recorded.keys.filter({ $0 >= s.nextFunctionID }).min() else { return nil }
            return (next, s.recorded[next]!)
        }
    }
}
