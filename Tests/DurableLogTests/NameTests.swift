import DurableStorage
import Foundation
import DurableTesting
import Testing

@testable import DurableLog

@Suite("Hostile workflow IDs", .timeLimit(.minutes(3)))
struct NameTests {
    static let hostile = [
        "../x", "a/b", "..", ".", "/", "/etc/passwd", "~", "con", "a\\b", "日本語のワークフロー", "emoji-🚀",
        " leading space", "trailing space ", "tab\tand\nnewline", String(repeating: "k", count: 10_000),
    ]

    @Test("hostile IDs are stored safely inside the data directory and round-trip exactly", arguments: hostile)
    func hostileIDRoundTrips(id: String) async throws {
        let dir = TemporaryDirectory()
        let store = try LogStore.open(directory: dir.data)
        let log = try await store.createLog(name: id, fields: .started("hostile"))
        log.close()
        let path = try store.logPath(name: id)
        #expect(path.hasPrefix(dir.data + "/wf/"))
        #expect(path.utf8.count < dir.data.utf8.count + 60)
        #expect(try store.readLog(name: id).name == id)
        #expect(store.index.entry(forWorkflowID: id)?.workflowID == id)
        let (reopened, _) = try await store.openLog(name: id)
        reopened.close()
        // Nothing escaped the data directory.
        let parent = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(parent == ["data"])
    }

    @Test("an empty ID or one containing NUL is rejected with a clear error", arguments: ["", "a\u{0}b", "\u{0}"])
    func invalidIDsAreRejected(id: String) async throws {
        let dir = TemporaryDirectory()
        let store = try LogStore.open(directory: dir.data)
        let error = await #expect(throws: StorageError.self) {
            _ = try await store.createLog(name: id, fields: .started("x"))
        }
        #expect(error?.code == .invalidName)
        #expect(error?.message.contains(id.isEmpty ? "empty" : "NUL") == true)
    }

    @Test("creating an existing ID is refused, leaving the first log intact")
    func duplicateCreateIsRefused() async throws {
        let dir = TemporaryDirectory()
        let store = try LogStore.open(directory: dir.data)
        let log = try await store.createLog(
            name: "once", fields: .started("x"), records: [RecordDraft(type: stepType, payload: [9])])
        log.close()
        let error = await #expect(throws: StorageError.self) {
            _ = try await store.createLog(name: "once", fields: .started("y"))
        }
        #expect(error?.code == .alreadyExists)
        #expect(try store.readLog(name: "once").indexFields.name == "x")
    }

    @Test("a foreign non-empty directory is refused")
    func foreignDirectoryIsRefused() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.data, withIntermediateDirectories: true)
        writeFile(dir.data + "/thesis.tex", Array("precious".utf8))
        let error = #expect(throws: StorageError.self) { _ = try LogStore.open(directory: dir.data) }
        #expect(error?.code == .notADataDirectory)
        #expect(fileBytes(dir.data + "/thesis.tex") == Array("precious".utf8))
    }
}

@Suite("Data directory initialisation", .timeLimit(.minutes(3)))
struct InitialisationTests {
    @Test("many processes initialising one new directory at once all succeed")
    func concurrentInitialisation() throws {
        for round in 0..<30 {
            let dir = TemporaryDirectory("init\(round)")
            let children = try (0..<6).map { _ in
                try ChildProcess("DurableTestHelper", ["hold-lease", dir.data, "w-\(UUID().uuidString)"])
            }
            for child in children { #expect(child.firstLine() == "won", "round \(round)") }
            for child in children { child.kill() }
            #expect(try LogStore.open(directory: dir.data).index.count == 6)
        }
    }
}
