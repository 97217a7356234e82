import ArgumentParser
import DurableWorkflows

/// `inspect --at N` and `diff`: a workflow as it was at an operation, and where two runs part.
enum TimeTravel {
    /// Workflow `history` as of operation `position`, as text or JSON.
    static func render(_ history: WorkflowHistory, at position: Int, json: Bool) -> String {
        let past = history.asOf(operation: position)
        let total = history.operations.keys.max() ?? 0
        let next = history.operation(after: position)
        let waiting: String
        if let next {
            waiting = "\(next.functionID): \(next.kind) \"\(next.name)\""
        } else if let end = history.end, position >= total {
            waiting = "nothing: it ended \(end.status)"
        } else {
            waiting = "nothing recorded yet: the log ends here (\(history.status))"
        }
        let streams = Dictionary(grouping: past.streamItems, by: \.key)
        if json {
            return JSONText.object([
                ("workflowID", .string(history.workflowID)), ("at", .number(position)), ("of", .number(total)),
                ("status", .string(past.status.rawValue)), ("inputs", history.inputs.map(JSONText.string) ?? .null),
                ("steps", .array(past.steps.map(JSONText.step))),
                (
                    "messagesReceived",
                    .array(
                        past.receivedMessages.map { message in
                            .object([
                                ("functionID", .number(message.functionID)),
                                ("messageID", message.messageID.map(JSONText.string) ?? .null),
                                ("value", .raw(message.value)),
                            ])
                        })
                ),
                ("events", .object(past.events.sorted { $0.key < $1.key }.map { ($0.key, .raw($0.value)) })),
                (
                    "streams",
                    .object(
                        streams.keys.sorted().map { key in
                            let items = streams[key]!
                            return (
                                key,
                                .object([
                                    ("items", .array(items.compactMap(\.value).map { .raw($0) })),
                                    ("closed", .bool(items.contains(where: \.closes))),
                                ])
                            )
                        })
                ),
                ("next", next.map(JSONText.step) ?? .null),
                ("output", past.output.map(JSONText.string) ?? .null),
            ]).rendered
        }
        var lines = [
            "workflow \(history.workflowID) as of operation \(position) of \(total): \(past.status)",
            "input     \(history.inputs ?? "-")",
        ]
        let received = past.receivedMessages.map { "\($0.functionID): \(TextTable.clip($0.value))" }
        lines.append("received  \(received.isEmpty ? "-" : received.joined(separator: "; "))")
        let events = past.events.sorted { $0.key < $1.key }.map { "\($0.key)=\(TextTable.clip($0.value))" }
        lines.append("events    \(events.isEmpty ? "-" : events.joined(separator: ", "))")
        let written = streams.keys.sorted().map { key in
            let items = streams[key]!
            return
                "\(key): \(items.compactMap(\.value).count) items\(items.contains(where: \.closes) ? ", closed" : "")"
        }
        lines.append("streams   \(written.isEmpty ? "-" : written.joined(separator: "; "))")
        lines.append("next      \(waiting)")
        if let output = past.output { lines.append("output    \(output)") }
        return lines.joined(separator: "\n") + "\n\n" + DurableCommand.Steps.table(past.steps)
    }
}

extension DurableCommand {
    /// `durable diff <a> <b>`.
    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Show where two workflow runs (a fork and its origin, two attempts) first differ; exit 1 if they do.")

        @OptionGroup var directory: DirectoryOptions
        @Argument(help: "The first workflow ID.") var first: String
        @Argument(help: "The second workflow ID.") var second: String

        func run() async throws {
            let client = try directory.openClient(writing: false)
            let a = WorkflowHistory(workflowID: first, events: try await client.storage.history(of: first))
            let b = WorkflowHistory(workflowID: second, events: try await client.storage.history(of: second))
            let last = max(a.operations.keys.max() ?? 0, b.operations.keys.max() ?? 0)
            let difference = a.firstDifference(from: b)
            func cell(_ record: OperationRecord?) -> String {
                guard let record else { return "-" }
                let result = record.error.map { "error \($0.name)" } ?? record.output ?? "-"
                return "\(record.kind) \"\(record.name)\" -> \(TextTable.clip(result))"
            }
            var rows: [[String]] = []
            for position in stride(from: 1, through: last, by: 1) {
                let marker =
                    difference.map { position < $0.position ? "=" : position == $0.position ? "≠" : " " } ?? "="
                rows.append([marker, "\(position)", cell(a.operations[position]), cell(b.operations[position])])
            }
            rows.append([
                difference?.firstEnd != nil || difference?.secondEnd != nil ? "≠" : difference == nil ? "=" : " ",
                "end",
                a.end.map { "\($0.status) \(TextTable.clip($0.output ?? $0.error?.name ?? ""))" } ?? a.status.rawValue,
                b.end.map { "\($0.status) \(TextTable.clip($0.output ?? $0.error?.name ?? ""))" } ?? b.status.rawValue,
            ])
            print(TextTable.render(header: ["", "#", first, second], rows: rows))
            guard let difference else {
                print("\nthe runs do not differ")
                return
            }
            if difference.first != nil || difference.second != nil {
                print("\nthey first differ at operation \(difference.position)")
            } else {
                print("\nevery operation matches; they ended differently")
            }
            throw ExitCode(1)
        }
    }
}
