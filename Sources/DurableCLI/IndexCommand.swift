import ArgumentParser
import DurableLog

extension DurableCommand {
    /// `durable index ...`: maintenance of the derived index.
    struct IndexCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "index", abstract: "Maintain the workflow index.", subcommands: [Rebuild.self])

        /// `durable index rebuild`: recreates the index from the logs.
        struct Rebuild: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Recreate the index from the logs (the logs are the truth; the index is derived).",
                discussion:
                    "Safe beside a running engine: the new generation is published atomically under the index's append lock."
            )

            @OptionGroup var directory: DirectoryOptions

            func run() throws {
                let store = try directory.openStore(writing: true)
                let count = try store.rebuildIndex()
                print("index rebuilt from \(count) logs (generation \(store.index.generation))")
            }
        }
    }
}
