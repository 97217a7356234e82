import DurableTesting
import Foundation
import Testing

@testable import DurableLog
@testable import DurableWorkflows

@Suite("The index catches up while executors live", .timeLimit(.minutes(3)))
struct IndexCatchUpTests {
    @Test(
        "a running executor repairs what a dead one left half-recorded: a log the index never saw, a finished workflow still listed as running"
    )
    func runningExecutorsRepairTheIndex() async throws {
        let dir = TemporaryDirectory()
        let ledger = dir.path + "/ledger", fired = dir.path + "/fired"
        let done = try ChildProcess("DurableTestHelper", ["workflows", dir.data, ledger, "done-1"])
        #expect(done.wait().status == 0)
        let killed = try ChildProcess(
            "DurableTestHelper", ["workflows", dir.data, ledger, "pending-1"],
            environment: ["KILL_AT": "pending-1:3:ack", "FIRED": fired])
        #expect(killed.wait().killedBySignal)

        var configuration = DurableEngine.Configuration(applicationVersion: "another-version")  // recovers neither
        configuration.recoveryInterval = .milliseconds(50)
        configuration.indexCatchUpInterval = .milliseconds(200)
        let engine = try DurableEngine(directory: dir.data, configuration: configuration)
        try await engine.launch()
        #expect(try await engine.status(of: "done-1") == .success)
        #expect(try await engine.status(of: "pending-1") == .pending)

        // As if the executor had died between each log append and its index append: the index
        // never heard of pending-1, and missed done-1's end.
        let other = try LogStore.open(directory: dir.data)
        var entries = other.index.allEntries().filter { $0.workflowID != "pending-1" }
        let i = try #require(entries.firstIndex { $0.workflowID == "done-1" })
        entries[i].fields.status = .pending
        entries[i].logSeq = 1
        try other.index.replace(with: entries)
        // What listings see is the index (status(of:) reads a status that may change from the log).
        func indexed(_ id: String) throws -> WorkflowStatus? {
            try engine.store.index.refresh()
            return engine.store.index.entry(forWorkflowID: id)?.status
        }
        #expect(try indexed("pending-1") == nil && indexed("done-1") == .pending, "the rollback is visible")
        #expect(try await engine.status(of: "done-1") == .success, "status(of:) reads the log past a lagging index")

        #expect(
            try await eventually(.seconds(10)) {
                try indexed("done-1") == .success && indexed("pending-1") == .pending
            })
        #expect(try await engine.steps(of: "pending-1").count == 3)
        await engine.shutdown()
    }
}

@Suite("Temporary files", .timeLimit(.minutes(3)))
struct TemporaryFileTests {
    @Test("temporary files of writers that died are swept at launch; those of live processes are kept")
    func deadWritersTemporaryFilesAreSwept() async throws {
        let dir = TemporaryDirectory()
        _ = try LogStore.open(directory: dir.data)
        let exited = try Spawn.start("/bin/true", [], environment: [:], output: .null)
        _ = Spawn.wait(exited.pid)
        let dead = exited.pid, alive = getpid()
        let files = [
            "wf/3a/.3a0011.\(dead).123.tmp", "wf/ff/.ff0022.\(alive).456.tmp", ".FORMAT.\(dead).789",
            "dicts/.dict.tmp.\(dead).1",
            "wf/3a/3a0011.wlog.torn-1700000000000",
        ]
        try FileManager.default.createDirectory(atPath: dir.data + "/dicts", withIntermediateDirectories: true)
        for file in files {
            _ = FileManager.default.createFile(atPath: dir.data + "/" + file, contents: Data([1, 2, 3]))
        }
        let engine = try makeEngine(dir)
        try await engine.launch()
        await engine.shutdown()
        let left = files.filter { FileManager.default.fileExists(atPath: dir.data + "/" + $0) }
        #expect(
            left == ["wf/ff/.ff0022.\(alive).456.tmp", "wf/3a/3a0011.wlog.torn-1700000000000"],
            "a torn tail kept aside is evidence, not litter")
    }
}
