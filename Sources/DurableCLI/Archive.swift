#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import DurableWorkflows
import FoundationEssentials

extension DurableCommand {
    /// `durable archive <id> -o FILE`.
    struct Archive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a workflow (and, with --with-children, its descendants) to one portable archive file.",
            discussion: """
                The archive holds every recorded event, the status fields and the inbox of each workflow, \
                compressed and checksummed. `durable import` brings it into another data directory; inspect, \
                replay-verify and export read it directly when --dir names the archive file.
                """
        )

        @OptionGroup var directory: DirectoryOptions
        @Argument(help: "The workflow ID.") var workflowID: String
        @Flag(help: "Also archive every workflow it started, theirs, and so on.") var withChildren = false
        @Option(name: [.customShort("o"), .long], help: "The archive file to write.") var output: String

        func run() async throws {
            try await directory.withDataDirectory { directory in
                let archive = try await directory.openClient(writing: false).archive(
                    workflowID, withChildren: withChildren)
                let bytes = try archive.encoded()
                let path = output
                try await BlockingThread.run {
                    let file = try OutputFile(path: path)
                    do {
                        try file.write(bytes)
                        try file.commit()
                    } catch {
                        file.abandon()
                        throw error
                    }
                }
                print(
                    "archived \(archive.workflows.count) workflow\(archive.workflows.count == 1 ? "" : "s") to \(path)")
            }
        }
    }

    /// `durable import FILE`.
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Bring the workflows of an archive into a data directory (created if missing).",
            discussion: """
                They keep their IDs, events, status and inboxes; an unfinished one is run by an executor of its \
                application version on the directory. A workflow that is in the directory already is refused, \
                with nothing imported, unless --replace (which replaces only workflows that have ended).
                """
        )

        @OptionGroup var directory: DirectoryOptions
        @Argument(help: "The archive file.") var file: String
        @Flag(help: "Replace workflows of the archive that are in the directory already (ended ones only).")
        var replace = false

        func run() async throws {
            let archive = try await ArchiveFile.read(file)
            let client = DurableClient(store: try directory.openWorkflowStore(writing: true, creating: true))
            let ids = try await client.importArchive(archive, replacing: replace)
            print("imported \(ids.count) workflow\(ids.count == 1 ? "" : "s"): \(ids.joined(separator: ", "))")
        }
    }
}

/// Reading archive files.
enum ArchiveFile {
    /// Whether `path` is a regular file (an archive where a data directory is expected).
    static func isFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// The archive in file `path`, refused with a clear error if it is not one, is cut off or damaged.
    static func read(_ path: String) async throws -> WorkflowArchive {
        let bytes = try await BlockingThread.run { () throws -> [UInt8] in
            do {
                return [UInt8](try Data(contentsOf: URL(filePath: path)))
            } catch {
                throw ValidationError("cannot read the archive \(path): \(error)")
            }
        }
        do {
            return try WorkflowArchive(decoding: bytes)
        } catch {
            throw ArchiveError(error.code, "\(path): \(error.message)", workflowID: error.workflowID)
        }
    }
}

extension DirectoryOptions {
    /// Runs `body` on the data directory or, when `--dir` names an archive file, on a private
    /// temporary directory the archive is imported into, removed afterwards.
    func withDataDirectory<T: Sendable>(_ body: (DirectoryOptions) async throws -> T) async throws -> T {
        guard database == nil, ArchiveFile.isFile(path) else { return try await body(self) }
        let archive = try await ArchiveFile.read(path)
        let archivePath = path
        let temporary = try await BlockingThread.run { () throws -> String in
            // $TMPDIR, /tmp, else beside the archive (a minimal container may have no /tmp).
            let beside = archivePath.contains("/") ? String(archivePath[..<archivePath.lastIndex(of: "/")!]) : "."
            var failure = ""
            for parent in [Environment.value("TMPDIR"), "/tmp", beside.isEmpty ? "/" : beside].compactMap({ $0 }) {
                var template = Array("\(parent)/durable-archive-XXXXXX".utf8CString)
                if let made = mkdtemp(&template) { return String(cString: made) }
                failure = "\(parent): \(String(cString: strerror(errno)))"
            }
            throw ValidationError("cannot make a temporary directory to read the archive in (\(failure))")
        }
        var opened = self
        opened.dir = temporary
        do {
            let store = try opened.openDirectoryStore(writing: true, creating: true)
            try await DurableClient(store: store, clientID: "durable-cli").importArchive(archive)
            let result = try await body(opened)
            try? await BlockingThread.run { try FileManager.default.removeItem(atPath: temporary) }
            return result
        } catch {
            try? await BlockingThread.run { try FileManager.default.removeItem(atPath: temporary) }
            throw error
        }
    }
}
