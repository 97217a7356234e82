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
            let store = try directory.openStore()
            var (items, closed) = try WorkflowHistory(await store.read(name: workflowID)).stream(key)
            var next = offset
            while true {
                while next < items.count {
                    print(items[next])
                    next += 1
                }
                let history = try WorkflowHistory(await store.read(name: workflowID))
                (items, closed) = history.stream(key)
                if next < items.count { continue }
                if !follow || closed || history.status.isTerminal { return }
                let path = try store.logPath(name: workflowID)
                let watcher = store.watcher()
                let version = try watcher.version(of: path)
                (items, closed) = try WorkflowHistory(await store.read(name: workflowID)).stream(key)
                if next >= items.count && !closed {
                    await watcher.wait(for: path, after: version, until: FileWatcher.deadline(after: .seconds(1)))
                }
            }
        }
    }
}
