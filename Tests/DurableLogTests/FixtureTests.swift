import DurableStorage
import Foundation
import DurableTesting
import Testing

@testable import DurableLog

/// Golden data directories written by released format versions, read by every later version.
///
/// `Fixtures/log-format-v1/` was written by format version 1. To write it again (only ever
/// for a *new* version directory, never over an old one):
/// `DURABLE_WRITE_FIXTURES=1 swift test --filter FixtureTests`.
@Suite("Golden fixtures", .timeLimit(.minutes(3)))
struct FixtureTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/log-format-v1").path

    /// What the fixture holds: workflow ID → step payloads, and its final status.
    static let workflows: [(id: String, steps: [[UInt8]], status: WorkflowStatus)] = [
        ("golden-raw", [Array("{\"step\":1}".utf8), [], [0, 1, 2, 255]], .success),
        (
            "golden/../compressed",
            [
                samplePayload(size: 4000, seed: 1, compressible: true),
                samplePayload(size: 300, seed: 2, compressible: false),
            ], .error
        ),
        (
            "golden-dictionary",
            (0..<5).map { samplePayload(size: 400 + $0 * 100, seed: UInt64(10 + $0), compressible: true) }, .pending
        ),
    ]

    static func write(to directory: String) async throws {
        let store = try LogStore.open(directory: directory)
        for (index, workflow) in workflows.enumerated() {
            if index == 2 {
                let samples = (0..<1000).map { samplePayload(size: 300, seed: UInt64(100 + $0), compressible: true) }
                try store.useDictionary(try store.trainDictionary(samples: samples, capacity: 8192))
            }
            var fields = IndexFields.started("fixture-\(index)")
            fields.applicationVersion = "fixture-1"
            let log = try await store.createLog(name: workflow.id, fields: fields)
            for step in workflow.steps { try await log.append(RecordDraft(type: stepType, payload: step)) }
            if workflow.status != .pending {
                var end = IndexDelta()
                end.status = workflow.status
                end.updatedAt = 1_700_000_000_500
                try await log.append(.indexUpdate(end))
            }
            log.close()
        }
    }

    @Test(
        "writes the fixture when asked",
        .enabled(if: ProcessInfo.processInfo.environment["DURABLE_WRITE_FIXTURES"] == "1"))
    func writeFixture() async throws {
        try? FileManager.default.removeItem(atPath: Self.root)
        try await Self.write(to: Self.root)
    }

    @Test("a data directory written by format version 1 reads back exactly")
    func readsVersionOne() throws {
        var options = LogStore.Options()
        options.createIfMissing = false
        let store = try LogStore.open(directory: Self.root, options: options)
        #expect(store.index.count == Self.workflows.count)
        for workflow in Self.workflows {
            let contents = try store.readLog(name: workflow.id)
            #expect(contents.outcome == .clean, "\(workflow.id)")
            let steps = contents.records.filter { $0.type == stepType }.map(\.payload)
            let same = steps == workflow.steps
            #expect(same, "\(workflow.id): step payloads differ")
            #expect(contents.indexFields.status ?? .pending == workflow.status)
            #expect(store.index.entry(forWorkflowID: workflow.id)?.status == workflow.status)
        }
        let codecs = Set(try store.readLog(name: "golden-dictionary").records.map(\.codec))
        #expect(codecs.contains(.zstdDictionary))
        #expect(Set(try store.readLog(name: "golden/../compressed").records.map(\.codec)).contains(.zstd))
        let report = try store.check()
        #expect(report.okCount == Self.workflows.count && !report.hasProblems)
    }

    @Test("a copy of the version 1 directory accepts new appends and a rebuilt index")
    func versionOneStaysWritable() async throws {
        let dir = TemporaryDirectory()
        try FileManager.default.copyItem(atPath: Self.root, toPath: dir.data)
        let store = try LogStore.open(directory: dir.data)
        let before = store.index.allEntries()
        let (log, records) = try await store.openLog(name: "golden-dictionary")
        try await log.append(RecordDraft(type: stepType, payload: Array("appended by a later build".utf8)))
        log.close()
        #expect(try store.readLog(name: "golden-dictionary").records.count == records.count + 1)
        try store.rebuildIndex()
        #expect(store.index.allEntries() == before)
    }
}

@Suite("Fuzz regressions", .timeLimit(.minutes(3)))
struct FuzzRegressionTests {
    @Test(
        "every fuzz seed and saved crash under Fixtures/fuzz replays through its decoder without a trap",
        arguments: ["record", "index", "inbox", "cron", "json", "archive"])
    func replayFuzzInputs(_ target: String) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let inputs = root + "/Fixtures/fuzz/" + target
        let count = try FileManager.default.contentsOfDirectory(atPath: inputs).count
        let replay = try ChildProcess("DurableFuzz", [target, inputs])
        let output = replay.allOutput()
        #expect(replay.wait().status == 0, "a decoder trapped on an input under Fixtures/fuzz/\(target)")
        #expect(output.contains("replayed \(count) inputs"), "\(output)")
    }
}
