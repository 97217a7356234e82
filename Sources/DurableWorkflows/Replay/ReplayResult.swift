import DurableStorage

/// What replaying one recorded workflow against the current code found.
public struct ReplayResult: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The workflow.
    public var workflowID: String
    /// Its registered name, from its START record (empty if that record is missing).
    public var workflowName: String
    /// Its recorded status.
    public var status: String
    /// How many recorded operations the code reached and matched.
    public var replayedOperations: Int
    /// The verdict.
    public var outcome: Outcome
    /// The first difference between the log and the code, when ``outcome`` is `.diverged`.
    public var divergence: ReplayDivergence?
    /// Why the workflow could not be replayed, when ``outcome`` is `.notReplayable`.
    public var reason: String?
    /// Where the log ended, for a workflow that had not finished: the operation the code would
    /// run next there (`recv "DBOS.recv" (topic "approve")`, say), or nil if the code returned.
    public var waitingFor: String?

    /// A replay's verdict.
    public enum Outcome: String, Sendable, Codable {
        /// The code took exactly the recorded path (and, for a finished workflow, ended as it did).
        case clean
        /// The code and the log differ; ``ReplayResult/divergence`` says where.
        case diverged
        /// No workflow of this name is registered, or the log cannot be read.
        case notReplayable
    }

    public var description: String {
        switch outcome {
        case .clean:
            let tail = waitingFor.map { "; its log ends before \($0)" } ?? ""
            return
                "\(workflowID) (\(workflowName), \(status)): replays cleanly, \(replayedOperations) operations\(tail)"
        case .diverged:
            return "\(workflowID) (\(workflowName), \(status)): DIVERGES: \(divergence.map(\.description) ?? "")"
        case .notReplayable:
            return "\(workflowID) (\(workflowName), \(status)): not replayed: \(reason ?? "")"
        }
    }
}

/// Where and how a workflow's current code departs from its recorded history.
public struct ReplayDivergence: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The kind of difference.
    public enum Kind: String, Sendable, Codable {
        /// The operation at ``ReplayDivergence/position`` has another kind, name, key or topic.
        case operation
        /// The code runs an operation after the recorded run had ended.
        case pastTheEnd
        /// The code returned (or threw) with recorded operations left unreached.
        case unreplayedTail
        /// The code ended otherwise than the recorded run: another output, an error instead of
        /// a result, or the other way round.
        case outcome
    }

    /// The kind of difference.
    public var kind: Kind
    /// The operation position (`function_id`, 1-based) where the difference is; for
    /// ``Kind/outcome``, one past the last operation.
    public var position: Int
    /// What the log holds there (nil: nothing).
    public var recorded: String?
    /// What the code does there (nil: it returned).
    public var current: String?
    /// The recorded operations the code did not reach, in order (`4: step "ship"`).
    public var remaining: [String]
    /// The workflow's input, as recorded (JSON).
    public var input: String

    public var description: String {
        var text: String
        switch kind {
        case .operation:
            text =
                "at operation \(position) the log recorded \(recorded ?? "nothing") but the code runs \(current ?? "nothing")"
        case .pastTheEnd:
            text =
                "the recorded run ended (\(recorded ?? "?")) after operation \(position - 1), but the code goes on "
                + "to \(current ?? "another operation") at \(position)"
        case .unreplayedTail:
            text =
                "the code \(current ?? "returned") at operation \(position), before the recorded \(recorded ?? "operation")"
        case .outcome:
            text = "the recorded run ended with \(recorded ?? "?"), the code ends with \(current ?? "?")"
        }
        if !remaining.isEmpty { text += "; not reached: \(remaining.joined(separator: ", "))" }
        return text + "; input \(input.count > 200 ? String(input.prefix(197)) + "..." : input)"
    }
}

/// Replaying many workflows: every result, and the counts a gate looks at.
public struct ReplaySummary: Sendable, Codable {
    /// Every workflow's result, in the order they were listed (oldest first).
    public var results: [ReplayResult]

    /// A summary of `results`.
    public init(results: [ReplayResult]) {
        self.results = results
    }

    /// The workflows that replayed cleanly.
    public var clean: Int { results.count { $0.outcome == .clean } }
    /// The workflows whose code diverges from their log.
    public var diverged: [ReplayResult] { results.filter { $0.outcome == .diverged } }
    /// The workflows that could not be replayed (not registered, unreadable).
    public var notReplayable: [ReplayResult] { results.filter { $0.outcome == .notReplayable } }
}
