import DurableStorage

extension WorkflowHistory {
    /// The workflow as it was once its operations up to position `position` had been recorded:
    /// those operations (and so the events set, stream items written and messages received by
    /// then), still running (`PENDING`) unless it had already ended by then.
    public func asOf(operation position: Int) -> WorkflowHistory {
        var past = self
        past.operations = operations.filter { $0.key <= position }
        if position < (operations.keys.max() ?? 0) {
            past.end = nil
            past.fields.status = .pending
        }
        return past
    }

    /// The first operation recorded after position `position`: what the workflow did next.
    public func operation(after position: Int) -> OperationRecord? {
        operations.keys.filter { $0 > position }.min().flatMap { operations[$0] }
    }

    /// The messages the workflow received (its recorded `recv` operations), in order: the
    /// message ID (nil for a timeout) and its JSON value.
    public var receivedMessages: [(functionID: Int, messageID: String?, value: String)] {
        operations.keys.sorted().compactMap { id in
            let operation = operations[id]!
            guard operation.kind == "recv" else { return nil }
            return (id, operation.key, operation.output ?? "null")
        }
    }

    /// Where this run and `other` first differ: the first position whose operations differ in
    /// kind, name, key, output or error, or, if all match, how they ended. Nil if they are the
    /// same run as far as their logs tell (a fork and its origin up to the fork point, say).
    public func firstDifference(from other: WorkflowHistory) -> HistoryDifference? {
        let last = max(operations.keys.max() ?? 0, other.operations.keys.max() ?? 0)
        for position in stride(from: 1, through: last, by: 1) {
            let mine = operations[position]
            let theirs = other.operations[position]
            if mine?.kind != theirs?.kind || mine?.name != theirs?.name || mine?.key != theirs?.key
                || mine?.output != theirs?.output || mine?.error != theirs?.error
            {
                return HistoryDifference(position: position, first: mine, second: theirs, firstEnd: nil, secondEnd: nil)
            }
        }
        if end?.status != other.end?.status || end?.output != other.end?.output || end?.error != other.end?.error {
            return HistoryDifference(position: last + 1, first: nil, second: nil, firstEnd: end, secondEnd: other.end)
        }
        return nil
    }
}

/// Where two workflow runs first differ (``WorkflowHistory/firstDifference(from:)``).
public struct HistoryDifference: Sendable, Equatable {
    /// The operation position (one past the last operation when only the endings differ).
    public var position: Int
    /// The first run's operation there (nil: none).
    public var first: OperationRecord?
    /// The second run's operation there (nil: none).
    public var second: OperationRecord?
    /// When all operations match: how the first run ended (nil: it has not).
    public var firstEnd: EndRecord?
    /// When all operations match: how the second run ended (nil: it has not).
    public var secondEnd: EndRecord?
}
