import ArgumentParser
import DurableExport
import DurableWorkflows
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension DurableCommand {
    /// `durable export`: the directory's workflows as a psql script that loads them into DBOS's
    /// PostgreSQL system tables.
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export workflows into DBOS's PostgreSQL system tables (schema 125) as a psql script.",
            discussion: """
                Load the script with: psql -v ON_ERROR_STOP=1 -d <database> -f <file>. It is one transaction: \
                a load that fails changes nothing, and loading a newer export again updates what changed \
                without duplicating rows. Damaged (quarantined) workflows are listed on stderr and left out.
                """)

        @OptionGroup var directory: DirectoryOptions
        @Option(name: [.short, .customLong("output")], help: "Write the script here (default: standard output).")
        var output: String?
        @Flag(name: .customLong("create-schema"), help: "Create DBOS's schema (version 125) if the database has none.")
        var createSchema = false
        @Option(help: "The DBOS system schema.") var schema = "dbos"
        @Option(help: "Only this status (repeatable): PENDING, ENQUEUED, DELAYED, SUCCESS, ERROR, CANCELLED, ...")
        var status: [String] = []
        @Option(help: "Only this workflow name.") var name: String?
        @Option(help: "Only workflows created at or after this time (ISO 8601 or Unix ms).") var after: String?
        @Option(help: "Only workflows created before this time (ISO 8601 or Unix ms).") var before: String?
        @Option(help: "Only this workflow ID (repeatable).") var id: [String] = []
        @Option(
            name: .customLong("application-name"),
            help: "Write this application_name (default: none, which every DBOS app sees).")
        var applicationName: String?
        @Flag(name: .customLong("dry-run"), help: "Print how many rows each table would get; write no script.")
        var dryRun = false

        func validate() throws {
            if let after, TextTable.parseTime(after) == nil {
                throw ValidationError("--after must be ISO 8601 or Unix ms, got \(after)")
            }
            if let before, TextTable.parseTime(before) == nil {
                throw ValidationError("--before must be ISO 8601 or Unix ms, got \(before)")
            }
            _ = try DBOSSchema(name: schema)
        }

        func run() async throws {
            try await directory.withDataDirectory { directory in
                var selection = ExportSelection()
                selection.statuses = Set(status.map { WorkflowStatus(rawValue: $0.uppercased()) })
                selection.name = name
                selection.createdAfter = after.flatMap(TextTable.parseTime)
                selection.createdBefore = before.flatMap(TextTable.parseTime)
                selection.ids = id
                let store = try directory.openStore()
                let exporter = DataDirectoryExporter(
                    store: store, mapping: DBOSMappingOptions(applicationName: applicationName))
                let schema = try DBOSSchema(name: schema)
                let (createSchema, output, dryRun, path, selected) = (
                    createSchema, output, dryRun, directory.path, selection
                )
                let report = try await BlockingThread.run { () throws -> ExportReport in
                    if dryRun { return try exporter.export(selected) { _, _ in } }
                    let file = try OutputFile(path: output)
                    do {
                        var writer = try SQLScriptWriter(
                            schema: schema, createSchema: createSchema,
                            header:
                                "swift-durable export of \(path) into DBOS schema \(schema.name) (version \(DBOSSchema.version))",
                            sink: file.write)
                        let report = try exporter.export(selected) { rows, id in try writer.add(rows, workflowID: id) }
                        try writer.finish()
                        try file.commit()
                        return report
                    } catch {
                        file.abandon()
                        throw error
                    }
                }
                for skipped in report.skipped { printError("skipped \(skipped)") }
                if dryRun {
                    print(
                        TextTable.render(
                            header: ["TABLE", "ROWS"],
                            rows: DBOSTable.all.map { [$0.name, "\(report.rows[$0] ?? 0)"] }))
                    print(
                        "\(report.workflows) workflows\(report.skipped.isEmpty ? "" : ", \(report.skipped.count) skipped")"
                    )
                } else if output != nil {
                    print(
                        "exported \(report.workflows) workflows\(report.skipped.isEmpty ? "" : " (\(report.skipped.count) skipped)") to \(output!)"
                    )
                }
            }
        }
    }
}
