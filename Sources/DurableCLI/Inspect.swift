import ArgumentParser
import DurableWorkflows

extension DurableCommand {
    /// `durable inspect <id>`: one workflow, its input, outcome and step-by-step trace.
    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a workflow's input, status, output or error, and a step-by-step trace with durations.")

        @OptionGroup var directory: DirectoryOptions
        @Argument(help: "The workflow ID.") var workflowID: String
        @Option(help: "Show it as of operation N: what it had done, received, set and written, and what came next.")
        var at: Int?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await directory.withDataDirectory { directory in
                let client = try directory.openClient(writing: false)
                let history = WorkflowHistory(
                    workflowID: workflowID, events: try await client.storage.history(of: workflowID))
                if let at {
                    guard at >= 0 else { throw ValidationError("--at takes an operation position, 0 or more") }
                    print(TimeTravel.render(history, at: at, json: json))
                    return
                }
                // The store's fields: the history's, and what only the store records (a quarantine).
                let f = try await client.storage.fields(of: workflowID) ?? history.fields
                if json {
                    print(
                        JSONText.object([
                            ("workflowID", .string(workflowID)), ("name", .string(f.name ?? "")),
                            ("status", .string(history.status.rawValue)),
                            ("applicationVersion", f.applicationVersion.map(JSONText.string) ?? .null),
                            ("executorID", f.executorID.map(JSONText.string) ?? .null),
                            ("createdAt", .number(Int(f.createdAt ?? 0))),
                            ("updatedAt", .number(Int(f.updatedAt ?? 0))),
                            ("recoveryAttempts", .number(Int(f.recoveryAttempts ?? 0))),
                            ("queueName", f.queueName.map(JSONText.string) ?? .null),
                            ("priority", .number(Int(f.priority ?? 0))),
                            // Held until the workflow ends, then released (as DBOS clears it).
                            (
                                "deduplicationID",
                                history.status.isTerminal ? .null : f.deduplicationID.map(JSONText.string) ?? .null
                            ),
                            ("partitionKey", f.partitionKey.map(JSONText.string) ?? .null),
                            ("delayUntil", f.delayUntil.map { .number(Int($0)) } ?? .null),
                            ("timeoutMilliseconds", f.timeoutMilliseconds.map { .number(Int($0)) } ?? .null),
                            ("deadline", f.deadline.map { .number(Int($0)) } ?? .null),
                            ("forkedFrom", f.forkedFrom.map(JSONText.string) ?? .null),
                            ("parentWorkflowID", f.parentWorkflowID.map(JSONText.string) ?? .null),
                            ("inputs", history.inputs.map(JSONText.string) ?? .null),
                            ("output", history.output.map(JSONText.string) ?? .null),
                            (
                                "error",
                                history.error.map {
                                    JSONText.object([("name", .string($0.name)), ("message", .string($0.message))])
                                } ?? .null
                            ),
                            ("steps", .array(history.steps.map(JSONText.step))),
                            (
                                "rewinds",
                                .array(
                                    history.resumes.compactMap { r in
                                        r.fromStep.map { step in
                                            JSONText.object([
                                                ("toStep", .number(step)), ("at", .number(Int(r.at))),
                                                ("executorID", .string(r.executorID)),
                                            ])
                                        }
                                    })
                            ),
                        ]).rendered)
                    return
                }
                print("workflow \(workflowID)")
                print("name    \(f.name ?? "?")")
                print("status  \(history.status)\(f.corruption.map { " (QUARANTINED: \($0))" } ?? "")")
                print(
                    "version \(f.applicationVersion ?? "-")   executor \(f.executorID ?? "-")   attempts \(f.recoveryAttempts ?? 0)"
                )
                print("created \(TextTable.time(f.createdAt ?? 0))   updated \(TextTable.time(f.updatedAt ?? 0))")
                print("input   \(history.inputs ?? "-")")
                if let output = history.output { print("output  \(output)") }
                if let error = history.error { print("error   \(error.name): \(error.message)") }
                for resume in history.resumes {
                    let what = resume.fromStep.map { "rewound to step \($0)" } ?? "resumed"
                    print("\(what) at \(TextTable.time(resume.at)) by \(resume.executorID)")
                }
                print("")
                print(Steps.table(history.steps))
            }
        }
    }

    /// `durable steps <id>`: the step trace alone.
    struct Steps: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a workflow's completed steps with timings, outputs and errors.")

        @OptionGroup var directory: DirectoryOptions
        @Argument(help: "The workflow ID.") var workflowID: String
        @Flag(help: "Print JSON lines.") var json = false

        func run() async throws {
            let steps = try await directory.openClient(writing: false).steps(of: workflowID)
            if json {
                for step in steps { print(JSONText.step(step).rendered) }
            } else {
                print(Self.table(steps))
            }
        }

        static func table(_ steps: [StepInfo]) -> String {
            TextTable.render(
                header: ["#", "STEP", "KIND", "STARTED", "MS", "TRIES", "RESULT"],
                rows: steps.map { s in
                    [
                        "\(s.functionID)", s.name, s.kind, TextTable.time(s.startedAt), "\(s.durationMilliseconds)",
                        "\(s.attempts)",
                        TextTable.clip(s.error.map { "error \($0.name): \($0.message)" } ?? s.output ?? "-"),
                    ]
                })
        }
    }
}
