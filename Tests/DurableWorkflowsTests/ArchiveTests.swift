import DurableLog
import DurableTesting
import DurableWorkflows
import Foundation
import Testing

@Suite("Workflow archives", .timeLimit(.minutes(3)))
struct ArchiveTests {
    /// A parent that uses a step, an event, a stream, a message and a child, and a child that
    /// sends its parent a message: every part of an archive is exercised.
    private func record(_ dir: TemporaryDirectory) async throws {
        let engine = try makeEngine(dir)
        engine.register(name: "kid") { (n: Int, context: WorkflowContext) -> Int in
            let doubled = try await context.step("double") { n * 2 }
            try await context.send(to: "parent", topic: "from-kid", doubled)
            return doubled
        }
        engine.register(name: "parent") { (n: Int, context: WorkflowContext) -> String in
            let base = try await context.step("base") { n + 1 }
            try await context.setEvent("phase", "started")
            try await context.writeStream("log", "line 1")
            let note = try await context.recv(topic: "note", as: String.self, timeout: .seconds(60)) ?? "none"
            let kid = try await context.runChild(name: "kid", base, id: "parent-kid", as: Int.self)
            let back = try await context.recv(topic: "from-kid", as: Int.self, timeout: .seconds(60)) ?? -1
            try await context.closeStream("log")
            return "\(note) \(kid) \(back)"
        }
        try await engine.launch()
        let handle = try await engine.start(name: "parent", 4, id: "parent", as: String.self)
        try await engine.send(to: "parent", topic: "note", "hi \u{1F600} 'quoted'")
        #expect(try await handle.result() == "hi \u{1F600} 'quoted' 10 10")
        await engine.shutdown()
    }

    private func durable(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let (status, _, output) = try await ChildProcess("durable", arguments).finish()
        return (status, output)
    }

    @Test("archive, import, archive again gives the same bytes, children, events and inboxes included")
    func roundTripIsByteIdentical() async throws {
        let source = TemporaryDirectory()
        try await record(source)
        let archive = try await DurableClient(directory: source.data).archive("parent", withChildren: true)
        #expect(archive.workflows.map(\.workflowID) == ["parent", "parent-kid"])
        #expect(archive.applicationVersion == "1")
        #expect(archive.workflows[0].inbox.count == 2, "the note and the child's message")
        let bytes = try archive.encoded()
        #expect(try WorkflowArchive(decoding: bytes) == archive)

        let target = TemporaryDirectory()
        let client = try DurableClient(directory: target.data)
        #expect(try await client.importArchive(WorkflowArchive(decoding: bytes)) == ["parent", "parent-kid"])
        #expect(try await client.archive("parent", withChildren: true).encoded() == bytes)
        #expect(try await client.handle(for: "parent", as: String.self).result() == "hi \u{1F600} 'quoted' 10 10")
        #expect(try await client.getEvent("parent", key: "phase", as: String.self) == "started")
        #expect(try await client.status(of: "parent-kid") == .success)

        // The same through the command line: archive, import elsewhere, archive again.
        let file1 = source.path + "/one.archive"
        let file2 = source.path + "/two.archive"
        let third = TemporaryDirectory()
        #expect(
            try await durable(["archive", "parent", "--with-children", "--dir", source.data, "-o", file1]).status == 0)
        let imported = try await durable(["import", file1, "--dir", third.data])
        #expect(imported.status == 0 && imported.output.contains("imported 2 workflows"), "\(imported.output)")
        #expect(
            try await durable(["archive", "parent", "--with-children", "--dir", third.data, "-o", file2]).status == 0)
        let one = try Data(contentsOf: URL(fileURLWithPath: file1))
        #expect(one == (try Data(contentsOf: URL(fileURLWithPath: file2))))
        #expect([UInt8](one) == bytes)
        let mode = try FileManager.default.attributesOfItem(atPath: file1)[.posixPermissions] as? Int
        #expect(mode == 0o600, "an archive holds inputs and outputs: private to its owner")
    }

    @Test("a flipped byte, a cut-off file and a non-archive are refused, and the target is left untouched")
    func damagedArchivesAreRefused() async throws {
        let source = TemporaryDirectory()
        try await record(source)
        let bytes = try await DurableClient(directory: source.data).archive("parent", withChildren: true).encoded()
        let flipped = { () -> [UInt8] in
            var copy = bytes
            copy[copy.count / 2] ^= 0x40
            return copy
        }()
        let cases: [(bytes: [UInt8], code: ArchiveError.Code, says: String)] = [
            (flipped, .damaged, "checksum"),
            (Array(bytes.prefix(bytes.count - 7)), .truncated, "cut off"),
            (Array(bytes.prefix(30)), .truncated, "cut off inside its header"),
            (Array("{\"not\":\"an archive\"}".utf8), .notAnArchive, "not a workflow archive"),
            (bytes + [0], .damaged, "after its end"),
        ]
        let target = TemporaryDirectory()
        let engine = try makeEngine(target)
        engine.register(name: "other") { (_: Int, context: WorkflowContext) -> Int in try await context.step("s") { 1 }
        }
        try await engine.launch()
        #expect(try await engine.start(name: "other", 0, id: "already-here", as: Int.self).result() == 1)
        await engine.shutdown()
        let before = try snapshot(target.data)
        for (index, bad) in cases.enumerated() {
            let error = #expect(throws: ArchiveError.self) { try WorkflowArchive(decoding: bad.bytes) }
            #expect(
                error?.code == bad.code && error?.message.contains(bad.says) == true, "\(String(describing: error))")
            let file = source.path + "/bad-\(index).archive"
            try Data(bad.bytes).write(to: URL(fileURLWithPath: file))
            let refused = try await durable(["import", file, "--dir", target.data])
            #expect(refused.status == 5, "exit status 5, damaged data: \(refused.output)")
            let inspect = try await durable(["inspect", "parent", "--dir", file])
            #expect(inspect.status == 5)
        }
        #expect(try snapshot(target.data) == before, "nothing in the target changed")
    }

    @Test("importing a workflow the directory already has is refused unless replacing, which replaces ended ones")
    func importRefusesExistingWorkflows() async throws {
        let source = TemporaryDirectory()
        try await record(source)
        let archive = try await DurableClient(directory: source.data).archive("parent", withChildren: true)
        let target = TemporaryDirectory()
        let client = try DurableClient(directory: target.data)
        try await client.importArchive(archive)
        let before = try snapshot(target.data)
        let error = await #expect(throws: ArchiveError.self) { try await client.importArchive(archive) }
        #expect(error?.code == .alreadyExists && error?.workflowID == "parent")
        #expect(error?.message.contains("and 1 more") == true)
        #expect(try snapshot(target.data) == before)

        let file = source.path + "/p.archive"
        try Data(try archive.encoded()).write(to: URL(fileURLWithPath: file))
        #expect(try await durable(["import", file, "--dir", target.data]).status == 4, "a conflict")
        let replaced = try await durable(["import", file, "--dir", target.data, "--replace"])
        #expect(replaced.status == 0, "\(replaced.output)")
        #expect(try await client.archive("parent", withChildren: true) == archive)
    }

    @Test("inspect, export and replay-verify read an archive where they take a data directory")
    func commandsReadArchives() async throws {
        let source = TemporaryDirectory()
        try await record(source)
        let file = source.path + "/p.archive"
        #expect(
            try await durable(["archive", "parent", "--with-children", "--dir", source.data, "-o", file]).status == 0)
        let inspect = try await durable(["inspect", "parent", "--dir", file])
        #expect(inspect.status == 0 && inspect.output.contains("status  SUCCESS"), "\(inspect.output)")
        let at = try await durable(["inspect", "parent", "--at", "2", "--json", "--dir", file])
        #expect(at.status == 0 && at.output.contains("DBOS.setEvent"), "\(at.output)")
        let list = try await durable(["list", "--dir", file])
        #expect(list.output.contains("parent-kid"), "\(list.output)")
        let export = try await durable(["export", "--dry-run", "--dir", file])
        #expect(export.status == 0 && export.output.contains("2 workflows"), "\(export.output)")

        // replay-verify from the demo's binary, on an archive of the demo's workflow.
        let demo = TemporaryDirectory()
        #expect(
            try await ChildProcess("durable-demo", [], environment: ["DURABLE_DIR": demo.data]).finish().status == 0)
        let id = try #require(try LogStore.open(directory: demo.data).index.allEntries().first?.workflowID)
        let demoFile = demo.path + "/demo.archive"
        #expect(try await durable(["archive", id, "--dir", demo.data, "-o", demoFile]).status == 0)
        let replay = try await ChildProcess("durable-demo", ["replay-verify", "--dir", demoFile]).finish()
        #expect(replay.status == 0 && replay.output.contains("1 clean"), "\(replay.output)")
    }

    @Test("forked, resumed, rewound, queued and debounced workflows keep what they were through an archive")
    func everyKindOfWorkflowSurvivesAnArchive() async throws {
        let source = TemporaryDirectory()
        let runs = RunCounter()
        func register(_ engine: DurableEngine) {
            engine.register(name: "three") { (n: Int, context: WorkflowContext) -> Int in
                var total = n
                for k in 1...3 {
                    total += try await context.step("s\(k)") { () -> Int in
                        runs.hit("s\(k)"); return k
                    }
                }
                return total
            }
            engine.register(name: "waits") { (_: Int, context: WorkflowContext) -> String in
                try await context.recv(topic: "go", as: String.self, timeout: .seconds(120)) ?? "timed out"
            }
            engine.register(name: "reindex") { (version: String, context: WorkflowContext) -> String in
                try await context.step("index") { "indexed \(version)" }
            }
        }
        let engine = try makeEngine(source)
        register(engine)
        try await engine.launch()
        #expect(try await engine.start(name: "three", 10, id: "orig", as: Int.self).result() == 16)
        #expect(try await engine.fork("orig", fromStep: 2, newID: "orig-fork", as: Int.self).result() == 16)
        #expect(try await engine.start(name: "three", 20, id: "rew", as: Int.self).result() == 26)
        #expect(try await engine.rewind("rew", toStep: 3, as: Int.self).result() == 26)
        _ = try await engine.start(name: "waits", 0, id: "resumed", as: String.self)
        while try await engine.steps(of: "resumed").isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        #expect(try await engine.cancel("resumed") == .cancelled)
        try await engine.send(to: "resumed", topic: "go", "after the resume")
        #expect(try await engine.resume("resumed", as: String.self).result() == "after the resume")
        let debouncer = Debouncer<String, String>(name: "reindex", engine: engine)
        _ = try await debouncer.debounce(key: "doc", period: .seconds(30), "v1")
        let debounced = try await debouncer.debounce(key: "doc", period: .seconds(30), "v2")
        await engine.shutdown()
        let client = try DurableClient(directory: source.data)
        let queued = try await client.enqueue(
            "three", 30, on: "later", options: EnqueueOptions(id: "queued", deduplicationID: "d1"), as: Int.self)
        #expect(try await queued.status() == .enqueued)

        let ids = ["orig", "orig-fork", "rew", "resumed", debounced.workflowID, "queued"]
        var archives: [WorkflowArchive] = []
        for id in ids { archives.append(try await client.archive(id)) }
        let debounceFields = try #require(try await client.storage.fields(of: debounced.workflowID))
        let target = TemporaryDirectory()
        let into = try DurableClient(directory: target.data)
        for archive in archives {
            #expect(try WorkflowArchive(decoding: try archive.encoded()) == archive)
            _ = try await into.importArchive(archive)
        }
        // What has ended, and what waits with its own history, comes back byte for byte.
        for (id, archive) in zip(ids, archives).prefix(4) {
            #expect(try await into.archive(id).encoded() == (try archive.encoded()), "\(id) re-archives the same")
        }
        #expect(try await into.storage.fields(of: "orig-fork")?.forkedFrom == "orig")
        let rewound = WorkflowHistory(workflowID: "rew", events: try await into.storage.history(of: "rew"))
        #expect(rewound.resumes.map(\.fromStep) == [3] && rewound.status == .success)
        let resumed = WorkflowHistory(workflowID: "resumed", events: try await into.storage.history(of: "resumed"))
        #expect(resumed.resumes.map(\.fromStep) == [nil])
        #expect(try await into.handle(for: "resumed", as: String.self).result() == "after the resume")

        // The queued workflow waits on its queue again, holding its deduplication ID there.
        #expect(try await into.status(of: "queued") == .enqueued)
        let duplicate = await #expect(throws: QueueDeduplicatedError.self) {
            _ = try await into.enqueue(
                "three", 31, on: "later", options: EnqueueOptions(deduplicationID: "d1"), as: Int.self)
        }
        #expect(duplicate != nil)
        let debouncedNow = try #require(try await into.storage.fields(of: debounced.workflowID))
        #expect(debouncedNow.status == .delayed && debouncedNow.delayUntil == debounceFields.delayUntil)
        #expect(debouncedNow.isDebounced == true)

        // An engine on the target runs both, the debounced one with its last input.
        let runner = try makeEngine(target)
        register(runner)
        runner.register(WorkflowQueue("later"))
        try await runner.launch()
        #expect(try await runner.handle(for: "queued", as: Int.self).result() == 36)
        try await runner.storage.wake(queue: WorkflowQueue.internalQueueName)
        try await runner.expectReplaysCleanly()
        #expect(try await runner.status(of: debounced.workflowID) == .delayed, "its 30 s are not up")
        await runner.shutdown()
    }

    /// Every file under `path` with its bytes.
    private func snapshot(_ path: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: path)
        while let relative = enumerator?.nextObject() as? String {
            let full = path + "/" + relative
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[relative] = try Data(contentsOf: URL(fileURLWithPath: full))
            }
        }
        return files
    }
}
