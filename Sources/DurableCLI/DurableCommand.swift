import ArgumentParser
import CDurableLinux
import DurableWorkflows
import DurableLog
import DurablePostgres
import DurableStorage

/// The `durable` command: reads and maintains a swift-durable data directory offline or
/// beside a running engine.
///
/// It is a library so that an application can offer the same commands from its own binary.
public struct DurableCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "durable",
        abstract: "Inspect and maintain a swift-durable data directory.",
        discussion: """
            The directory defaults to .durable in the working directory; DURABLE_DIR or --dir overrides it.

            Exit status: 0 success; 1 failure (and `check` finding a problem); 3 no such workflow, queue or \
            schedule; 4 conflict (the ID belongs to another workflow, a live executor holds it, a deduplication \
            ID is taken); 5 damaged data (a quarantined workflow, a corrupted file); 6 the disk can no longer \
            make writes durable; 64 usage.
            """,
        subcommands: [
            List.self, Inspect.self, Steps.self, Export.self, Enqueue.self, Queues.self, Schedules.self, Send.self,
            Cancel.self, Resume.self, Rewind.self, Fork.self, Stream.self, Events.self, Tail.self, Diff.self,
            ReplayVerify.self, Patches.self, Archive.self, Import.self, Migrate.self, Check.self,
            IndexCommand.self, Dump.self, GarbageCollect.self,
        ]
    )

    public init() {}

    /// Registers the workflows of the binary running the commands on an engine (bound by
    /// ``runAsMain(registering:)``; nil in the plain `durable` tool, which knows none).
    @TaskLocal static var registration: (@Sendable (DurableEngine) -> Void)?

    /// Runs the commands as ``runAsMain()`` does, with the application's workflows registered by
    /// `register`: an application's own binary offers `replay-verify` (and every other command)
    /// in a few lines.
    ///
    /// ```swift
    /// // main.swift of `my-app-durable`
    /// import DurableCLI
    /// await DurableCommand.runAsMain { engine in
    ///     engine.register(Checkout.self)
    /// }
    /// ```
    public static func runAsMain(registering register: @escaping @Sendable (DurableEngine) -> Void) async {
        await $registration.withValue(register) { await runAsMain() }
    }

    /// Parses the process's arguments, runs the chosen command and exits with its status (see
    /// ``ExitStatus``).
    public static func runAsMain() async {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(processArguments())
        } catch {
            exit(withError: error)  // usage and help: ArgumentParser's own messages and statuses
        }
        do {
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            guard let status = ExitStatus(error) else { exit(withError: error) }
            printError("Error: \(error)")
            exit(withError: ExitCode(status.rawValue))
        }
    }
}

extension DurableCommand {
    /// The process's arguments after its name. From what the C runtime handed the process: a
    /// statically linked binary would otherwise read them from `/proc/self/cmdline`, which an
    /// empty root or a minimal container does not have (it then sees none).
    static func processArguments() -> [String] {
        let count = durable_argument_count()
        guard count > 0 else { return Array(CommandLine.arguments.dropFirst()) }
        return (1..<Int(count)).compactMap { durable_argument(Int32($0)).map { String(cString: $0) } }
    }
}

/// Options every subcommand shares.
struct DirectoryOptions: ParsableArguments {
    @Option(name: .long, help: "The data directory (default: $DURABLE_DIR, else .durable).")
    var dir: String?

    @Option(
        name: .customLong("database-url"),
        help: "A DBOS-compatible PostgreSQL to use instead of a directory (default: $DURABLE_DATABASE_URL).")
    var databaseURL: String?

    var path: String { dir ?? Environment.value("DURABLE_DIR") ?? ".durable" }

    /// The PostgreSQL the command works on, if one is named (`--dir` wins over the environment).
    var database: String? { databaseURL ?? (dir == nil ? Environment.value("DURABLE_DATABASE_URL") : nil) }

    /// Opens the directory (never creating it). Read-only unless `writing`: a command that only
    /// reads creates nothing, takes no lease and works on a directory it cannot write. Commands
    /// that read the files themselves refuse a database.
    func openStore(writing: Bool = false) throws -> LogStore {
        if database != nil {
            throw ValidationError(
                "this command reads a data directory's files; it does not work on a database (--dir names one)")
        }
        var options = LogStore.Options()
        options.createIfMissing = false
        options.readOnly = !writing
        options.ioThreadCount = 2
        return try LogStore.open(directory: path, options: options)
    }

    /// A client on the directory (never creating it), for the commands on workflows: they go
    /// through the storage protocol, as an application would. Read-only unless `writing`.
    func openClient(writing: Bool = true) throws -> DurableClient {
        DurableClient(store: try openWorkflowStore(writing: writing), clientID: "durable-cli")
    }

    /// The database, or else the directory, as a storage backend (a directory is never created
    /// unless `creating`, and is read-only unless `writing`).
    func openWorkflowStore(writing: Bool, creating: Bool = false) throws -> any WorkflowStore {
        if let database { return try PostgresWorkflowStore(url: database) }
        return try openDirectoryStore(writing: writing, creating: creating)
    }

    /// The directory as a storage backend (never creating it), read-only unless `writing`.
    func openDirectoryStore(writing: Bool, creating: Bool = false) throws -> FileWorkflowStore {
        var options = LogStore.Options()
        options.createIfMissing = creating
        options.readOnly = !writing
        options.ioThreadCount = 2
        return try FileWorkflowStore(directory: path, options: options)
    }
}
