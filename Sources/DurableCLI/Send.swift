import ArgumentParser
import DurableWorkflows
import FoundationEssentials

extension DurableCommand {
    /// `durable send <id> <topic> <json>`: delivers a message to a workflow's inbox.
    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a JSON message to a workflow (durable on return; the workflow's recv wakes at once).")

        @OptionGroup var directory: DirectoryOptions
        @Argument(help: "The destination workflow ID.") var workflowID: String
        @Argument(help: "The topic (use \"\" for the default topic).") var topic: String
        @Argument(help: "The message as JSON, for example '{\"approved\":true}'.") var json: String
        @Option(name: .customLong("idempotency-key"), help: "Deliver at most once per key.") var idempotencyKey: String?

        func run() async throws {
            try await directory.openClient().send(
                to: workflowID, topic: topic.isEmpty ? nil : topic, json: json, idempotencyKey: idempotencyKey)
            print("sent to \(workflowID)")
        }
    }
}
