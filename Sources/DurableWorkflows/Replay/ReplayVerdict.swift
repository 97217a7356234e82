import DurableStorage

/// Compares how a replayed body ended with the workflow's record.
struct ReplayVerdict {
    let history: WorkflowHistory
    let context: WorkflowContext
    let input: String

    /// The first difference between the record and the replay that ended with `outcome`, or nil.
    func divergence(after outcome: Result<String, any Error>) -> ReplayDivergence? {
        if case .failure(let error) = outcome, let mismatch = error as? NonDeterminismError, context.logEnd == nil {
            return ReplayDivergence(
                kind: .operation, position: mismatch.functionID, recorded: mismatch.recorded,
                current: mismatch.current, remaining: unreached(from: mismatch.functionID + 1), input: input)
        }
        if let end = context.logEnd { return divergence(atLogEnd: end) }
        if let first = context.unreplayedOperation()?.functionID {
            let current: String
            switch outcome {
            case .success: current = "returned"
            case .failure(let error): current = "threw \(PortableError(error))"
            }
            return ReplayDivergence(
                kind: .unreplayedTail, position: first, recorded: describe(first), current: current,
                remaining: unreached(from: first), input: input)
        }
        guard let end = history.end else { return nil }  // the recorded run stopped before its end record
        let recorded: String
        switch end.status {
        case WorkflowStatus.success.rawValue: recorded = "output \(Self.short(end.output ?? "null"))"
        case WorkflowStatus.error.rawValue: recorded = "error \(end.error.map(\.description) ?? "?")"
        default: return nil  // cancelled, or out of recovery attempts: no outcome of the code's own
        }
        let current: String
        switch outcome {
        case .success(let output): current = "output \(Self.short(output))"
        case .failure(let error): current = "error \(PortableError(error))"
        }
        if recorded == current { return nil }
        return ReplayDivergence(
            kind: .outcome, position: context.nextPosition, recorded: recorded, current: current, remaining: [],
            input: input)
    }

    /// The replay reached the end of the log at `end`: clean for a workflow that had not finished
    /// (that is where it was), a divergence for one that had.
    private func divergence(atLogEnd end: ReplayLogEnd) -> ReplayDivergence? {
        if let ended = history.end,
            ended.status == WorkflowStatus.success.rawValue || ended.status == WorkflowStatus.error.rawValue
        {
            return ReplayDivergence(
                kind: .pastTheEnd, position: end.position, recorded: ended.status, current: end.operation,
                remaining: [], input: input)
        }
        // A wait in flight may have recorded its deadline (`DBOS.sleep`) one position on; any
        // other record past the end is a part of the log the code does not reach.
        let beyond = history.operations.keys.sorted().filter { position in
            position > end.position && !(position == end.position + 1 && history.operations[position]?.kind == "sleep")
        }
        guard let first = beyond.first else { return nil }
        return ReplayDivergence(
            kind: .unreplayedTail, position: end.position, recorded: describe(first),
            current: "waits at \(end.operation)", remaining: beyond.map(label), input: input)
    }

    private func describe(_ position: Int) -> String {
        guard let record = history.operations[position] else { return "nothing" }
        return WorkflowContext.describe(record.kind, record.name)
    }

    private func label(_ position: Int) -> String { "\(position): \(describe(position))" }

    private func unreached(from position: Int) -> [String] {
        history.operations.keys.filter { $0 >= position }.sorted().map(label)
    }

    private static func short(_ json: String) -> String { json.count > 120 ? String(json.prefix(117)) + "..." : json }
}
