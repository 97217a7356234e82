import DurableStorage

/// Replays recorded workflows against the code registered on an engine, to prove that new code
/// can take over the executions its predecessor started (a CI gate before a deploy), or to find
/// where it cannot.
///
/// A replay runs the workflow's body with every operation answered from its log: steps return
/// their recorded results, sleeps end at once, messages, events and children's results come
/// from the record. Nothing runs for real and nothing is written, anywhere: the first operation
/// the log does not hold ends the replay before it starts. The engine is only a registry here;
/// it need not be launched, and its store may be opened read-only.
///
/// ```swift
/// let engine = try DurableEngine(store: FileWorkflowStore(directory: "prod-copy", options: readOnly))
/// engine.register(Checkout.self)
/// let summary = try await WorkflowReplayer(engine: engine).replay()
/// for result in summary.diverged { print(result) }
/// ```
public struct WorkflowReplayer: Sendable {
    private let engine: DurableEngine

    /// A replayer for the workflows registered on `engine`, reading from its store.
    public init(engine: DurableEngine) {
        self.engine = engine
    }

    /// Replays workflow `id`. Throws only if its history cannot be read at all.
    public func replay(_ id: String) async throws -> ReplayResult {
        await replay(WorkflowHistory(workflowID: id, events: try await engine.storage.history(of: id)))
    }

    /// Replays every workflow `filter` selects (all by default, oldest first), `concurrency` at
    /// a time. A workflow whose history cannot be read is reported, not thrown.
    public func replay(_ filter: WorkflowFilter = WorkflowFilter(), concurrency: Int = 8) async throws -> ReplaySummary
    {
        let ids = try await engine.storage.list(filter).map(\.workflowID)
        var results = [ReplayResult?](repeating: nil, count: ids.count)
        await withTaskGroup(of: (Int, ReplayResult).self) { group in
            var next = 0
            for _ in 0..<min(max(1, concurrency), ids.count) {
                let index = next
                group.addTask { (index, await self.replayReportingErrors(ids[index])) }
                next += 1
            }
            while let (index, result) = await group.next() {
                results[index] = result
                if next < ids.count {
                    let index = next
                    group.addTask { (index, await self.replayReportingErrors(ids[index])) }
                    next += 1
                }
            }
        }
        return ReplaySummary(results: results.compactMap { $0 })
    }

    private func replayReportingErrors(_ id: String) async -> ReplayResult {
        do {
            return try await replay(id)
        } catch {
            var result = ReplayResult(
                workflowID: id, workflowName: "", status: "", replayedOperations: 0, outcome: .notReplayable)
            result.reason = "its history cannot be read: \(error)"
            return result
        }
    }

    /// Replays a workflow from its recorded `history`.
    public func replay(_ history: WorkflowHistory) async -> ReplayResult {
        let id = history.workflowID
        var result = ReplayResult(
            workflowID: id, workflowName: history.start?.name ?? "", status: history.status.rawValue,
            replayedOperations: 0, outcome: .clean)
        guard let start = history.start else {
            result.outcome = .notReplayable
            result.reason = "its START record is missing"
            return result
        }
        guard let workflow = engine.registeredWorkflow(named: start.name) else {
            result.outcome = .notReplayable
            result.reason = "no workflow named \"\(start.name)\" is registered"
            return result
        }
        let input = history.inputs ?? start.inputs
        let context = WorkflowContext(
            workflowID: id, workflowName: start.name, lease: ReplayLease(workflowID: id),
            recorded: history.operations, pendingPrefix: [], clock: engine.configuration.clock, logger: engine.logger,
            engine: engine, clearedControls: history.clearedControls, deadline: nil, replaying: true,
            replayedRunEnded: history.end != nil)
        let outcome: Result<String, any Error>
        do {
            outcome = .success(try await workflow.body(input, context))
        } catch {
            outcome = .failure(error)
        }
        result.replayedOperations = context.counts.replayed
        let verdict = ReplayVerdict(history: history, context: context, input: input)
        if let divergence = verdict.divergence(after: outcome) {
            result.outcome = .diverged
            result.divergence = divergence
        } else {
            result.waitingFor = context.logEnd?.operation
        }
        return result
    }
}

/// The first operation a replay needed that its log does not hold: where the log ends.
struct ReplayLogEnd: Error, Sendable {
    /// Its position.
    var position: Int
    /// The operation the code would have run there.
    var operation: String
}

/// The lease a replay runs under: it refuses every write (none is ever attempted: a replay
/// stops at the first operation its log does not hold, before anything is recorded).
private struct ReplayLease: WorkflowLease {
    let workflowID: String

    func append(_ events: [WorkflowEvent]) async throws {
        throw WorkflowError("a replay writes nothing", workflowID: workflowID, code: .invalidState)
    }

    func release() {}
}
