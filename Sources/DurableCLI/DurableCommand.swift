import ArgumentParser
import DurableLog

/// The `durable` command: reads and maintains a swift-durable data directory offline or
/// beside a running engine.
///
/// It is a library so that an application can offer the same commands from its own binary.
public struct DurableCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "durable",
        abstract: "Inspect and maintain a swift-durable data directory.",
        discussion: "The directory defaults to .durable in the working directory; DURABLE_DIR or --dir overrides it.",
        subcommands: [List.self, Inspect.self, Steps.self, Export.self, Enqueue.self, Queues.self, Schedules.self, Send.self, Cancel.self, Resume.self, Fork.self, Stream.self, Events.self, Tail.self, Check.self, IndexCommand.self, Dump.self, GarbageCollect.self]
    )

    public init() {}

    /// Parses the process's arguments, runs the chosen command and exits with its status.
    public static func runAsMain() async {
        await main()
    }
}

/// Options every subcommand shares.
struct DirectoryOptions: ParsableArguments {
    @Option(name: .long, help: "The data directory (default: $DURABLE_DIR, else .durable).")
    var dir: String?

    var path: String { dir ?? Environment.value("DURABLE_DIR") ?? ".durable" }

    /// Opens the store without creating anything.
    /// Opens the directory (never creating it). Read-only unless `writing`: a command that only
    /// reads creates nothing, takes no lease and works on a directory it cannot write.
    func openStore(writing: Bool = false) throws -> LogStore {
        var options = LogStore.Options()
        options.createIfMissing = false
        options.readOnly = !writing
        options.ioThreadCount = 2
        return try LogStore.open(directory: path, options: options)
    }
}
