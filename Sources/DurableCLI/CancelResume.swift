import ArgumentParser
import DurableWorkflows
import FoundationEssentials

extension DurableCommand {
    /// `durable cancel <id>`.
    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Cancel a workflow: a running one stops at its next operation; one whose executor died is marked CANCELLED now."
        )

        @OptionGroup var directory: DirectoryOptions
        @Argument(help: "The workflow ID.") var workflowID: String
        @Flag(help: "Also cancel every child workflow it started or enqueued (and theirs) that has not ended.")
        var children = false

        func run() async throws {
            let status = try await directory.openClient().cancel(workflowID, includingChildren: children)
            switch status {
            case .cancelled: print("\(workflowID): CANCELLED")
            case .pending: print("\(workflowID): cancellation requested; its executor stops it at the next operation")
            default: print("\(workflowID): already \(status), left as it is")
            }
        }
    }

    /// `durable resume <id>`.
    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resume a CANCELLED or MAX_RECOVERY_ATTEMPTS_EXCEEDED workflow from its last completed step.",
            discussion:
                "The workflow is put back on its queue (the internal queue if it had none) as ENQUEUED; the first running executor of its application version with the workflow registered starts it."
        )

        @OptionGroup var directory: DirectoryOptions
        @Argument(help: "The workflow ID.") var workflowID: String

        func run() async throws {
            try await directory.openClient().resume(workflowID)
            print("\(workflowID): ENQUEUED (resumed; an executor of its version will start it)")
        }
    }

    /// `durable rewind <id> --to-step N`.
    struct Rewind: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-run a workflow that has ended from step N, under the same ID (DBOS's rewind_workflow).",
            discussion:
                "Steps before N are replayed from the log; N and later run again, with the messages they had received delivered again and events and streams as they were before N. The workflow goes back on its queue (the internal queue if it had none) as ENQUEUED; the first running executor of its application version with the workflow registered runs it."
        )

        @OptionGroup var directory: DirectoryOptions
        @Argument(help: "The workflow ID.") var workflowID: String
        @Option(name: .customLong("to-step"), help: "The first step to run again (1: the whole workflow).")
        var step: Int = 1

        func run() async throws {
            try await directory.openClient().rewind(workflowID, toStep: step)
            print("\(workflowID): ENQUEUED (rewound to step \(step); an executor of its version will run it)")
        }
    }
}
