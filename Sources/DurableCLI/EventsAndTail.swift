import ArgumentParser
import DurableWorkflows

extension DurableCommand {
    /// `durable events <id>`.
    struct Events: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a workflow's events: the latest value per key, or every value with --history.")

        @OptionGroup var directory: DirectoryOptions
        @Argument(help: "The workflow ID.") var workflowID: String
        @Flag(help: "Every value set, in order, with its step position.") var history = false
        @Flag(
            help: "Print JSON: an object of the latest values, or with --history an array of {functionID, key, value}.")
        var json = false

        func run() async throws {
            let store = try directory.openStore()
            let workflow = try WorkflowHistory(await store.read(name: workflowID))
            if json, history {
                print(
                    JSONText.array(
                        workflow.eventHistory.map { event in
                            .object([
                                ("functionID", .number(event.functionID)), ("key", .string(event.key)),
                                ("value", .raw(event.value)),
                            ])
                        }
                    ).rendered)
            } else if json {
                print(
                    JSONText.object(workflow.events.sorted { $0.key < $1.key }.map { ($0.key, .raw($0.value)) })
                        .rendered)
            } else if history {
                for (functionID, key, value) in workflow.eventHistory { print("#\(functionID) \(key) = \(value)") }
            } else {
                for (key, value) in workflow.events.sorted(by: { $0.key < $1.key }) { print("\(key) = \(value)") }
            }
        }
    }

    /// `durable tail <id>`: follows a live workflow.
    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow a workflow: print each operation as it is recorded, until the workflow ends.")

        @OptionGroup var directory: DirectoryOptions
        @Argument(help: "The workflow ID.") var workflowID: String

        func run() async throws {
            let store = try directory.openStore()
            let path = try store.logPath(name: workflowID)
            let watcher = store.watcher()
            var printed = 0
            while true {
                let version = try watcher.version(of: path)
                let workflow = try WorkflowHistory(await store.read(name: workflowID))
                let steps = workflow.steps
                while printed < steps.count {
                    let s = steps[printed]
                    print(
                        "#\(s.functionID) \(s.name) [\(s.kind)] \(s.durationMilliseconds) ms -> "
                            + (s.error.map { "error \($0.name): \($0.message)" } ?? s.output ?? "-"))
                    printed += 1
                }
                if workflow.status.isTerminal {
                    print(
                        "\(workflow.status)" + (workflow.output.map { " \($0)" } ?? "")
                            + (workflow.error.map { " \($0.name): \($0.message)" } ?? ""))
                    return
                }
                await watcher.wait(for: path, after: version, until: FileWatcher.deadline(after: .seconds(1)))
            }
        }
    }
}
