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
            let client = try directory.openClient(writing: false)
            let workflow = WorkflowHistory(
                workflowID: workflowID, events: try await client.storage.history(of: workflowID))
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
            let client = try directory.openClient(writing: false)
            guard try await client.status(of: workflowID) != nil else {
                throw WorkflowError("no workflow has this ID", workflowID: workflowID, code: .notFound)
            }
            // Follows the history with a cursor: each wake-up reads only what was appended.
            let follower = try await client.storage.follow(workflowID)
            var workflow = WorkflowHistory(workflowID: workflowID)
            var printed = 0
            while true {
                let batch = try await follower.read()
                if batch.restarted { workflow = WorkflowHistory(workflowID: workflowID) }
                workflow.apply(batch.elements)
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
                await follower.waitForAppend(timeout: .seconds(1))
            }
        }
    }
}
