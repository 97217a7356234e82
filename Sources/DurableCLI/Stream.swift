import ArgumentParser
import DurableWorkflows

extension DurableCommand {
    /// `durable stream <id> <key> [--follow]`.
    struct Stream: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Print a workflow's stream, one JSON item per line; with --follow, wait for new items until it closes.")

        @OptionGroup var directory: DirectoryOptions
        @Argument(help: "The workflow ID.") var workflowID: String
        @Argument(help: "The stream key.") var key: String
        @Option(help: "Start at this offset.") var offset = 0
        @Flag(help: "Keep printing items as they are written, until the stream closes or the workflow ends.")
        var follow = false

        func run() async throws {
            let client = try directory.openClient(writing: false)
            guard try await client.status(of: workflowID) != nil else {
                throw WorkflowError("no workflow has this ID", workflowID: workflowID, code: .notFound)
            }
            // Follows the history with a cursor: each wake-up reads only what was appended.
            let follower = try await client.storage.follow(workflowID)
            var history = WorkflowHistory(workflowID: workflowID)
            var next = offset
            while true {
                let batch = try await follower.read()
                if batch.restarted { history = WorkflowHistory(workflowID: workflowID) }
                history.apply(batch.elements)
                let (items, closed) = history.stream(key)
                while next < items.count {
                    print(items[next])
                    next += 1
                }
                if !follow || closed || history.status.isTerminal { return }
                await follower.waitForAppend(timeout: .seconds(1))
            }
        }
    }
}
