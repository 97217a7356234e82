import ArgumentParser
import DurableWorkflows
import FoundationEssentials
import Logging

extension DurableCommand {
    /// `replay-verify`: replays recorded workflows against the binary's registered code.
    struct ReplayVerify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "replay-verify",
            abstract: "Replay recorded workflows against this binary's workflows; exit 1 if any diverges.",
            discussion: """
                Every operation is answered from the log (nothing runs, nothing is written, the directory is \
                opened read-only), so this is safe on a copy of production data and fast enough for a CI gate. \
                A workflow replays cleanly if the code takes exactly the recorded path (and, once finished, \
                ends as it did); otherwise the first divergence is printed: the position, what the log \
                recorded and what the code does, what was left, and the input. Exit status 1 if any workflow \
                diverges or cannot be replayed (its name is not registered, its log is unreadable).

                The plain `durable` tool registers no workflows: run this from an application binary built \
                with DurableCommand.runAsMain(registering:) (the demo's is `durable-demo replay-verify`).
                """
        )

        @OptionGroup var directory: DirectoryOptions
        @Argument(help: "Workflow IDs (default: every workflow in the directory).") var workflowIDs: [String] = []
        @Option(help: "Only workflows registered under this name.") var name: String?
        @Flag(help: "One JSON object per workflow (JSON lines), then a summary object.") var json = false
        @Flag(name: .shortAndLong, help: "Also print the workflows that replay cleanly.") var verbose = false

        func run() async throws {
            try await directory.withDataDirectory { directory in
                guard let register = DurableCommand.registration else {
                    throw ValidationError(
                        "this binary registers no workflows; run replay-verify from your application's binary "
                            + "(DurableCommand.runAsMain(registering:)), as `durable-demo replay-verify` does")
                }
                var configuration = DurableEngine.Configuration()
                configuration.logLevel = .error
                let engine = DurableEngine(
                    store: try directory.openWorkflowStore(writing: false), configuration: configuration)
                register(engine)
                let replayer = WorkflowReplayer(engine: engine)
                let started = ContinuousClock.now
                var summary: ReplaySummary
                if workflowIDs.isEmpty {
                    var filter = WorkflowFilter()
                    filter.name = name
                    summary = try await replayer.replay(filter)
                } else {
                    summary = ReplaySummary(results: [])
                    for id in workflowIDs { summary.results.append(try await replayer.replay(id)) }
                }
                let elapsed = ContinuousClock.now - started
                let (total, diverged, notReplayable) = (
                    summary.results.count, summary.diverged.count, summary.notReplayable.count
                )
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                    for result in summary.results { print(String(decoding: try encoder.encode(result), as: UTF8.self)) }
                    let counts = [
                        "workflows": total, "clean": summary.clean, "diverged": diverged,
                        "not_replayable": notReplayable,
                    ]
                    print(String(decoding: try encoder.encode(["summary": counts]), as: UTF8.self))
                } else {
                    for result in summary.results where verbose || result.outcome != .clean { print(result) }
                    let centiseconds =
                        elapsed.components.seconds * 100 + elapsed.components.attoseconds / 10_000_000_000_000_000
                    print(
                        "\(total) workflows replayed in \(Double(centiseconds) / 100) s: \(summary.clean) clean, "
                            + "\(diverged) diverged, \(notReplayable) not replayable")
                }
                if summary.clean < total { throw ExitCode(1) }
            }
        }
    }
}
