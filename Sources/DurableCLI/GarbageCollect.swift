import ArgumentParser
import DurableWorkflows

extension DurableCommand {
    /// `durable gc`: deletes ended workflows by age or count (DBOS's `garbage_collect`).
    struct GarbageCollect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc",
            abstract:
                "Delete ended workflows older than an age or beyond a count, with their inboxes and index entries.",
            discussion:
                "Pending, enqueued, delayed and quarantined workflows are never deleted. Safe beside running executors."
        )

        @OptionGroup var directory: DirectoryOptions
        @Option(
            name: .customLong("older-than"),
            help: "Delete workflows that ended longer ago than this (30d, 12h, 90m, 45s).") var olderThan: String?
        @Option(help: "Keep only this many ended workflows, the most recently created.") var keep: Int?
        @Flag(name: .customLong("dry-run"), help: "Print what would be deleted; delete nothing.") var dryRun = false

        func run() async throws {
            guard olderThan != nil || keep != nil else { throw ValidationError("give --older-than, --keep or both") }
            if let keep, keep < 0 { throw ValidationError("--keep must be 0 or more (got \(keep))") }
            let policy = RetentionPolicy(maxAge: try olderThan.map(Self.duration), maxCount: keep)
            let client = try directory.openClient(writing: !dryRun)
            let ids = dryRun ? try await client.garbage(policy) : try await client.garbageCollect(policy)
            for id in ids { print(id) }
            printError("\(dryRun ? "would delete" : "deleted") \(ids.count) workflow\(ids.count == 1 ? "" : "s")")
        }

        /// `30d`, `12h`, `90m`, `45s` or `500ms`.
        static func duration(_ text: String) throws -> Duration {
            let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
            for (suffix, milliseconds) in units.sorted(by: { $0.0.count > $1.0.count }) where text.hasSuffix(suffix) {
                if let value = Int64(text.dropLast(suffix.count)), value >= 0 {
                    return .milliseconds(value * milliseconds)
                }
            }
            throw ValidationError("\"\(text)\" is not a duration (for example 30d, 12h, 90m, 45s)")
        }
    }
}
