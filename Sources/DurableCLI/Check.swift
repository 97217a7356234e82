import ArgumentParser
import DurableLog

extension DurableCommand {
    /// `durable check`: verifies every record of every log and the index.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify every log and the index; exit 1 if anything is corrupted or the index disagrees.",
            discussion: """
                Torn tails (a record cut short by a crash) are normal and are repaired the next time the \
                workflow's log is opened for writing; they are reported but do not fail the check. Nothing \
                is modified and no lock is taken, so it is safe beside a running engine.
                """)

        @OptionGroup var directory: DirectoryOptions
        @Flag(help: "Print a JSON report.") var json = false

        func run() throws {
            let store = try directory.openStore()
            let report = try store.check()
            if json {
                print(
                    JSONText.object([
                        ("logs", .number(report.logs.count)), ("ok", .number(report.okCount)),
                        ("torn", .number(report.tornCount)), ("corrupted", .number(report.corruptedCount)),
                        (
                            "corruptedLogs",
                            .array(
                                report.logs.compactMap { finding in
                                    guard case .corrupted(let reason) = finding.outcome else { return nil }
                                    return .object([
                                        ("workflowID", .string(finding.workflowID ?? "")),
                                        ("key", .string(finding.key.hex)), ("reason", .string(reason)),
                                    ])
                                })
                        ),
                        ("staleIndexEntries", .array(report.staleIndexEntries.map(JSONText.string))),
                        ("orphanIndexEntries", .array(report.orphanIndexEntries.map(JSONText.string))),
                        ("indexDamage", report.indexDamage.map(JSONText.string) ?? .null),
                    ]).rendered)
            } else {
                print(
                    "\(report.logs.count) logs: \(report.okCount) ok, \(report.tornCount) torn, \(report.corruptedCount) corrupted"
                )
                for finding in report.logs {
                    switch finding.outcome {
                    case .clean: continue
                    case .torn:
                        print(
                            "torn      \(finding.workflowID ?? finding.key.hex)  (repaired when next opened for writing)"
                        )
                    case .corrupted(let reason): print("CORRUPTED \(finding.workflowID ?? finding.key.hex)  \(reason)")
                    }
                }
                for id in report.staleIndexEntries {
                    print("index entry out of date: \(id)  (run `durable index rebuild`)")
                }
                for id in report.orphanIndexEntries {
                    print("index entry without a log: \(id)  (run `durable index rebuild`)")
                }
                if let damage = report.indexDamage { print("index damaged: \(damage)  (run `durable index rebuild`)") }
                print(report.hasProblems ? "check FAILED" : "check passed")
            }
            if report.hasProblems { throw ExitCode(1) }
        }
    }
}
