import Foundation
import DurableTesting
import Testing

@testable import DurableLog

/// Runs the built `durable` executable for real and captures what it prints.
func runDurable(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    let output = NSTemporaryDirectory() + "durable-cli-\(UUID().uuidString)"
    defer { unlink(output) }
    // Standard output and error into one file, in the order they were written.
    let started = try Spawn.start(
        builtExecutable("durable"), arguments, environment: env, output: .file(output), errors: .output)
    let (status, _) = Spawn.wait(started.pid)
    return (status, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
}

@Suite("The durable command", .timeLimit(.minutes(3)))
struct CLITests {
    @Test("check passes on a healthy directory, reports torn tails, and fails on corruption")
    func checkExitCodes() async throws {
        let dir = TemporaryDirectory()
        let (path, records) = try await DamageTests.makeLog(dir, name: "cli-check", count: 4)
        var (status, output) = try runDurable(["check", "--dir", dir.data])
        #expect(status == 0)
        #expect(output.contains("1 logs: 1 ok, 0 torn, 0 corrupted"))

        let original = fileBytes(path)
        writeFile(path, Array(original.prefix(records[3].offset + 10)))
        (status, output) = try runDurable(["check"], environment: ["DURABLE_DIR": dir.data])
        #expect(status == 0, "a torn tail is normal after a crash")
        #expect(output.contains("1 torn"))

        var damaged = original
        damaged[records[2].offset + 30] ^= 0x04
        writeFile(path, damaged)
        (status, output) = try runDurable(["check", "--dir", dir.data, "--json"])
        #expect(status == 1)
        #expect(output.contains("\"corrupted\":1"))
        #expect(output.contains("\"workflowID\":\"cli-check\""))
        #expect(fileBytes(path) == damaged, "check must not modify anything")
    }

    @Test("dump decodes every record; index rebuild recreates a deleted index")
    func dumpAndRebuild() async throws {
        let dir = TemporaryDirectory()
        let store = try await IndexTests.populate(dir, count: 5)
        let entries = store.index.allEntries()
        var (status, output) = try runDurable(["dump", "wf-2", "--dir", dir.data])
        #expect(status == 0)
        #expect(output.contains("#1 @64 indexUpdate"))
        #expect(output.contains("\"workflowID\":\"wf-2\""))
        #expect(output.contains("\"status\":\"SUCCESS\""))
        (status, output) = try runDurable(["dump", "wf-2", "--dir", dir.data, "--json"])
        #expect(output.split(separator: "\n").count == 4)

        try FileManager.default.removeItem(atPath: dir.data + "/index")
        try FileManager.default.createDirectory(atPath: dir.data + "/index", withIntermediateDirectories: false)
        (status, output) = try runDurable(["index", "rebuild", "--dir", dir.data])
        #expect(status == 0)
        #expect(output.contains("index rebuilt from 5 logs"))
        #expect(try LogStore.open(directory: dir.data).index.allEntries() == entries)
    }

    @Test("a missing directory or workflow gives a clear error and a non-zero exit")
    func clearErrors() throws {
        let dir = TemporaryDirectory()
        var (status, output) = try runDurable(["check", "--dir", dir.path + "/nowhere"])
        #expect(status != 0)
        #expect(output.contains("there is no swift-durable data directory here"))
        #expect(
            !FileManager.default.fileExists(atPath: dir.path + "/nowhere"), "a read-only command must not create it")
        _ = try LogStore.open(directory: dir.data)
        (status, output) = try runDurable(["dump", "no-such-workflow", "--dir", dir.data])
        #expect(status == 3)
        #expect(output.contains("no workflow with ID \"no-such-workflow\""))
    }

    @Test(
        "an unknown workflow is named by its ID, never a file path, with exit status 3; usage is 64",
        .timeLimit(.minutes(3)))
    func unknownWorkflowsAreNamed() throws {
        let dir = TemporaryDirectory()
        _ = try LogStore.open(directory: dir.data)
        for command in [
            ["inspect", "nosuch"], ["steps", "nosuch"], ["events", "nosuch"], ["dump", "nosuch"], ["cancel", "nosuch"],
            ["resume", "nosuch"], ["fork", "nosuch", "--from-step", "1"], ["stream", "nosuch", "k"],
        ] {
            let (status, output) = try runDurable(command + ["--dir", dir.data])
            #expect(status == 3, "\(command): \(status) \(output)")
            #expect(output.contains("\"nosuch\"") && !output.contains("/wf/"), "\(command): \(output)")
        }
        #expect(try runDurable(["list", "--no-such-option", "--dir", dir.data]).status == 64)
    }

    @Test("--help, help <command> and <command> --help print usage with status 0, not an error")
    func helpIsUsage() throws {
        for arguments in [["--help"], ["help"], ["help", "list"], ["list", "--help"], ["archive", "-h"]] {
            let (status, output) = try runDurable(arguments)
            #expect(status == 0, "\(arguments): \(status) \(output)")
            #expect(output.contains("USAGE:") && !output.contains("Error"), "\(arguments): \(output)")
        }
        let (status, output) = try runDurable(["no-such-command"])
        #expect(status == 64 && output.contains("no-such-command"), "a usage error: \(status) \(output)")
    }
}
