import ArgumentParser
import DurableWorkflows
import FoundationEssentials

extension DurableCommand {
    /// `durable patches`.
    struct Patches: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Which unfinished workflows still depend on each patch, and whether its old path can go.",
            discussion: """
                For every patch marker (context.patched("name")) found in an unfinished workflow or in one of \
                the most recent finished ones: the unfinished workflows of that name that recorded it, those \
                that went past the patch on the old path (the old branch must stay until they end), and those \
                that have not reached it yet.
                """
        )

        @OptionGroup var directory: DirectoryOptions
        @Argument(help: "Only these patches (default: every one found).") var names: [String] = []
        @Option(help: "How many of the newest finished workflows to read for markers.") var finishedSample = 1000
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let client = try directory.openClient(writing: false)
            let usages = try await client.patchUsage(finishedSample: finishedSample).filter {
                names.isEmpty || names.contains($0.patch)
            }
            if json {
                print(
                    JSONText.array(
                        usages.map { usage in
                            JSONText.object([
                                ("patch", .string(usage.patch)), ("workflow_name", .string(usage.workflowName)),
                                ("position", .number(usage.position)),
                                ("with_marker", .array(usage.withMarker.map(JSONText.string))),
                                ("on_old_path", .array(usage.onOldPath.map(JSONText.string))),
                                ("not_there_yet", .number(usage.notThereYet.count)),
                                ("verdict", .string(usage.verdict)),
                            ])
                        }
                    ).rendered)
                return
            }
            if usages.isEmpty {
                print("no patch markers found")
                return
            }
            let rows = usages.map { usage in
                [
                    usage.patch, usage.workflowName, "\(usage.position)", "\(usage.withMarker.count)",
                    "\(usage.onOldPath.count)", "\(usage.notThereYet.count)", usage.verdict,
                ]
            }
            print(
                TextTable.render(
                    header: ["PATCH", "WORKFLOW", "AT", "MARKED", "OLD PATH", "NOT YET", "VERDICT"], rows: rows))
        }
    }
}
