import Foundation
import DurableTesting
import Testing

@testable import DurableLog

@Suite("The index")
struct IndexTests {
    /// A directory with workflows in assorted states, some updated several times.
    static func populate(_ dir: TemporaryDirectory, count: Int = 60) async throws -> LogStore {
        let store = try LogStore.open(directory: dir.data)
        for i in 0..<count {
            var fields = IndexFields.started("workflow-\(i % 3)")
            fields.queueName = i % 4 == 0 ? "emails" : nil
            fields.applicationVersion = "1.0"
            let log = try await store.createLog(name: "wf-\(i)", fields: fields, records: [RecordDraft(type: stepType, payload: [1])])
            if i % 2 == 0 {
                var done = IndexDelta()
                done.status = i % 6 == 0 ? .error : .success
                done.updatedAt = 1_700_000_000_100 + Int64(i)
                done.attributes["error"] = i % 6 == 0 ? "PaymentDeclined" : nil
                try await log.append([RecordDraft(type: stepType, payload: [2]), .indexUpdate(done)])
            }
            log.close()
        }
        return store
    }

    @Test("a deleted index is rebuilt from the logs with identical content")
    func deletedIndexIsRebuiltIdentically() async throws {
        let dir = TemporaryDirectory()
        let before = try await Self.populate(dir).index.allEntries()
        #expect(before.count == 60)
        #expect(before.filter { $0.status == .success }.count == 20)
        try FileManager.default.removeItem(atPath: dir.data + "/index")
        try FileManager.default.createDirectory(atPath: dir.data + "/index", withIntermediateDirectories: false)

        let reopened = try LogStore.open(directory: dir.data)
        #expect(reopened.index.count == 0)
        #expect(try reopened.rebuildIndex() == 60)
        #expect(reopened.index.allEntries() == before)
        // And a third process loading the rebuilt snapshot sees the same.
        #expect(try LogStore.open(directory: dir.data).index.allEntries() == before)
    }

    @Test("a damaged index log is detected and rebuilt with identical content")
    func damagedIndexIsRebuilt() async throws {
        let dir = TemporaryDirectory()
        let before = try await Self.populate(dir).index.allEntries()
        let logPath = dir.data + "/index/log-1.wal"
        var bytes = fileBytes(logPath)
        bytes[bytes.count / 2] ^= 0x40
        writeFile(logPath, bytes)

        let reopened = try LogStore.open(directory: dir.data)
        #expect(reopened.index.damage != nil)
        #expect(try reopened.check().indexDamage != nil)
        try reopened.rebuildIndex()
        #expect(reopened.index.damage == nil)
        #expect(reopened.index.allEntries() == before)
        #expect(try reopened.check().hasProblems == false)
    }

    @Test("an index that missed updates (crash between log and index) is reconciled from the logs")
    func reconcileAfterCrashBetweenLogAndIndex() async throws {
        let dir = TemporaryDirectory()
        let store = try await Self.populate(dir, count: 10)
        let expected = store.index.allEntries()
        // Simulate the crash window: roll the index back to a generation that knows nothing.
        try store.index.replace(with: [])
        #expect(store.index.count == 0)
        #expect(try store.check().staleIndexEntries.count == 10)
        let changed = try await store.reconcileIndex()
        #expect(changed == 10)
        #expect(store.index.allEntries() == expected)
        #expect(try await store.reconcileIndex() == 0)
    }

    @Test("deltas appended by one process are seen by another, and the appends interleave safely")
    func twoStoresShareOneIndex() async throws {
        let dir = TemporaryDirectory()
        let a = try LogStore.open(directory: dir.data)
        let b = try LogStore.open(directory: dir.data)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (label, store) in [("a", a), ("b", b)] {
                group.addTask {
                    for i in 0..<40 {
                        let log = try await store.createLog(name: "\(label)-\(i)", fields: .started("shared"))
                        log.close()
                    }
                }
            }
            try await group.waitForAll()
        }
        try a.index.refresh()
        try b.index.refresh()
        #expect(a.index.count == 80)
        #expect(a.index.allEntries() == b.index.allEntries())
        let fresh = try LogStore.open(directory: dir.data)
        #expect(fresh.index.allEntries() == a.index.allEntries())
        #expect(try fresh.check().hasProblems == false)
    }

    @Test("a reader refreshing while another store rebuilds the index never fails and ends up identical")
    func refreshDuringRebuilds() async throws {
        let dir = TemporaryDirectory()
        let expected = try await Self.populate(dir, count: 30).index.allEntries()
        let rebuilder = try LogStore.open(directory: dir.data)
        let reader = try LogStore.open(directory: dir.data)
        let rebuilds = Task.detached { for _ in 0..<15 { try rebuilder.rebuildIndex() } }
        let refreshes = Task.detached { for _ in 0..<300 { try reader.index.refresh() } }
        try await rebuilds.value
        try await refreshes.value
        try reader.index.refresh()
        #expect(reader.index.allEntries() == expected)
        #expect(reader.index.generation == rebuilder.index.generation)
    }

    @Test("index fields round-trip through their binary encoding, unknown tags are skipped")
    func fieldsRoundTrip() throws {
        var fields = IndexFields.started("checkout")
        fields.queueName = "q"
        fields.priority = -5
        fields.deadline = Int64.max
        fields.attributes = ["a": "1", "ü": "ß"]
        #expect(IndexFields(decoding: fields.encoded()) == fields)
        // A field from a future version (tag 60, varint) followed by known fields.
        let future: [UInt8] = [60 << 1, 0x7F] + fields.encoded()
        #expect(IndexFields(decoding: future) == fields)
        #expect(IndexFields(decoding: [0x03, 0xFF]) == nil)
    }
}
