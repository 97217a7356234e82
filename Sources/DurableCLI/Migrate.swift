import ArgumentParser
import DurablePostgres
import DurableStorage
import DurableWorkflows

extension DurableCommand {
    /// `durable migrate`: moves a data directory's workflows into a DBOS-compatible PostgreSQL,
    /// through the storage protocol, so the same application pointed at the database finishes them.
    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a data directory's workflows into PostgreSQL (DBOS's system tables).",
            discussion: """
                Every workflow goes in as it is: its events, status, inbox and queue position. Unfinished ones \
                are then recovered, and queued ones started, by the application pointed at the database \
                (DURABLE_DATABASE_URL). The schema is created at DBOS's version 125 if the database has none. \
                Stop the executors on the directory first. A workflow already in the database is skipped and \
                reported, so an interrupted migration can be run again.
                """)

        @OptionGroup var directory: DirectoryOptions
        @Option(name: .customLong("to"), help: "The database URL (postgresql://user@host:port/database?schema=dbos).")
        var target: String

        func run() async throws {
            // The index first catches up with the logs: a process killed right after creating a
            // workflow may have left it out of the index, and the listing below reads the index.
            let directoryStore = try directory.openDirectoryStore(writing: true)
            _ = try await directoryStore.repair(.unowned)
            let source = DurableClient(store: directoryStore, clientID: "durable-migrate")
            let destination = DurableClient(store: try PostgresWorkflowStore(url: target), clientID: "durable-migrate")
            var moved = 0
            var skipped: [String] = []
            var filter = WorkflowFilter()
            filter.limit = 500
            while true {
                let page = try await source.storage.list(filter)
                for summary in page {
                    let archive = try await source.archive(summary.workflowID)
                    do {
                        try await destination.importArchive(archive)
                        moved += 1
                    } catch let error as ArchiveError where error.code == .alreadyExists {
                        skipped.append(summary.workflowID)
                    }
                }
                if page.count < filter.limit! { break }
                filter.offset += page.count
            }
            print("moved \(moved) workflows to \(try PostgresLocation(url: target))")
            for id in skipped { printError("skipped \(id): it is in the database already") }
        }
    }
}
