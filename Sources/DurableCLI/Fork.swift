import ArgumentParser
import DurableWorkflows
import FoundationEssentials

extension DurableCommand {
    /// `durable fork <id> --from-step N`.
    struct Fork: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a new workflow from step N of an existing one, reusing the recorded results before N.",
            discussion:
                "The new workflow goes on the internal queue; the first running executor of the same application version with the workflow registered starts it."
        )

        @OptionGroup var directory: DirectoryOptions
        @Argument(help: "The workflow to fork.") var workflowID: String
        @Option(name: .customLong("from-step"), help: "The first step (function ID) to run again.") var fromStep: Int
        @Option(name: .customLong("new-id"), help: "The new workflow's ID (default: a UUID).") var newID: String?

        func run() async throws {
            let fork = try await directory.openClient().fork(
                workflowID, fromStep: fromStep, newID: newID, as: JSONValue.self)
            print(fork.workflowID)
        }
    }
}
