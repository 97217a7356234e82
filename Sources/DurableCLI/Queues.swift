import ArgumentParser
import DurableWorkflows
import FoundationEssentials

extension DurableCommand {
    /// `durable enqueue <queue> <workflow-name> <json-input>`.
    struct Enqueue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enqueue a workflow by name; an executor that serves the queue runs it. Prints the workflow ID.")

        @OptionGroup var directory: DirectoryOptions
        @Argument(help: "The queue.") var queue: String
        @Argument(help: "The registered workflow name.") var workflowName: String
        @Argument(help: "The workflow's input as JSON, for example '{\"order\":42}'.") var json: String
        @Option(help: "The workflow ID (an idempotency key; a UUID if omitted).") var id: String?
        @Option(help: "Priority, 1 to 2147483647 (lower runs first; none runs before all).") var priority: Int?
        @Option(
            name: .customLong("deduplication-id"),
            help: "Refuse the enqueue while a live workflow of the queue holds this ID.") var deduplicationID: String?
        @Option(help: "Partition key (limits apply per partition).") var partition: String?
        @Option(name: .customLong("delay-ms"), help: "Start no earlier than this many milliseconds from now.")
        var delayMilliseconds: Int?
        @Option(name: .customLong("timeout-ms"), help: "Cancel the workflow if it runs longer than this.")
        var timeoutMilliseconds: Int?
        @Option(name: .customLong("app-version"), help: "Only executors of this application version may run it.")
        var applicationVersion: String?

        func run() async throws {
            let client = try directory.openClient()
            let options = EnqueueOptions(
                id: id, priority: priority, deduplicationID: deduplicationID, partitionKey: partition,
                delay: delayMilliseconds.map { .milliseconds($0) },
                timeout: timeoutMilliseconds.map { .milliseconds($0) },
                applicationVersion: applicationVersion)
            print(try await client.enqueue(workflowName, jsonInput: json, on: queue, options: options))
        }
    }

    /// `durable queues`.
    struct Queues: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List queues: their limits, and per partition the workflows enqueued, delayed and running.")

        @OptionGroup var directory: DirectoryOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let summaries = try await directory.openClient().storage.queues()
            if json {
                print(JSONText.array(summaries.map(JSONText.queue)).rendered)
                return
            }
            var rows: [[String]] = []
            for summary in summaries {
                let c = summary.configuration
                let limits = [
                    c?.concurrency.map { "global \($0)" }, c?.workerConcurrency.map { "worker \($0)" },
                    c?.rateLimit.map { "rate \($0)/\(c!.rateLimitPeriodMilliseconds ?? 0)ms" },
                ].compactMap { $0 }.joined(separator: ", ")
                for partition in summary.partitions {
                    rows.append([
                        summary.name, partition.key ?? "-", limits.isEmpty ? "-" : limits, "\(partition.enqueued)",
                        "\(partition.delayed)",
                        "\(partition.running)", partition.busySlots.map(String.init) ?? "-", "\(summary.ended)",
                    ])
                }
            }
            print(
                TextTable.render(
                    header: ["QUEUE", "PARTITION", "LIMITS", "ENQUEUED", "DELAYED", "RUNNING", "SLOTS BUSY", "ENDED"],
                    rows: rows))
            for summary in summaries {
                for (name, count) in summary.unservedWorkflows.sorted(by: { $0.key < $1.key }) {
                    print(
                        "warning: \(count) workflow\(count == 1 ? "" : "s") in queue \"\(summary.name)\" named "
                            + "\"\(name)\", which no executor serving the queue registered: they wait until one does")
                }
            }
        }
    }
}
