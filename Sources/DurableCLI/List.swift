import ArgumentParser
import DurableWorkflows

extension DurableCommand {
    /// `durable list`: workflows from the index, filtered.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List workflows (from the index; no log is read).")

        @OptionGroup var directory: DirectoryOptions
        @Option(help: "Only this status (repeatable): PENDING, ENQUEUED, SUCCESS, ERROR, CANCELLED, ...") var status:
            [String] = []
        @Option(help: "Only this workflow name.") var name: String?
        @Option(help: "Only IDs starting with this.") var prefix: String?
        @Option(help: "Only workflows created at or after this time (ISO 8601 or Unix ms).") var after: String?
        @Option(help: "Only workflows created before this time (ISO 8601 or Unix ms).") var before: String?
        @Option(name: .customLong("app-version"), help: "Only this application version.") var applicationVersion:
            String?
        @Option(help: "At most this many.") var limit: Int?
        @Option(help: "Skip this many.") var offset = 0
        @Flag(help: "Newest first.") var desc = false
        @Flag(help: "Print JSON lines.") var json = false

        func validate() throws {
            if let after, TextTable.parseTime(after) == nil {
                throw ValidationError("--after must be ISO 8601 or Unix ms, got \(after)")
            }
            if let before, TextTable.parseTime(before) == nil {
                throw ValidationError("--before must be ISO 8601 or Unix ms, got \(before)")
            }
            if offset < 0 || (limit ?? 0) < 0 { throw ValidationError("--limit and --offset must not be negative") }
        }

        func run() async throws {
            try await directory.withDataDirectory { directory in
                let client = try directory.openClient(writing: false)
                var filter = WorkflowFilter()
                filter.statuses = Set(status.map { WorkflowStatus(rawValue: $0.uppercased()) })
                filter.name = name
                filter.idPrefix = prefix
                filter.createdAfter = after.flatMap(TextTable.parseTime)
                filter.createdBefore = before.flatMap(TextTable.parseTime)
                filter.applicationVersion = applicationVersion
                filter.limit = limit
                filter.offset = offset
                filter.newestFirst = desc
                let workflows = try await client.listWorkflows(filter)
                if json {
                    for w in workflows { print(JSONText.summary(w).rendered) }
                    return
                }
                print(
                    TextTable.render(
                        header: ["WORKFLOW ID", "NAME", "STATUS", "CREATED", "UPDATED", "VERSION", "ATTEMPTS"],
                        rows: workflows.map { w in
                            [
                                TextTable.clip(w.workflowID, 40), w.name,
                                w.corruption == nil ? w.status.rawValue : "QUARANTINED",
                                TextTable.time(w.createdAt), TextTable.time(w.updatedAt), w.applicationVersion ?? "-",
                                "\(w.recoveryAttempts)",
                            ]
                        }))
            }
        }
    }
}
