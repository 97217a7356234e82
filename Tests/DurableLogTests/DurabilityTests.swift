import Foundation
import Synchronization
import DurableTesting
import Testing

@testable import DurableLog

@Suite("Durability: fsync failures and group commit", .timeLimit(.minutes(3)))
struct DurabilityTests {
    @Test("an injected fdatasync failure stops all acknowledgements with a clear error")
    func fdatasyncFailureIsFatal() async throws {
        let dir = TemporaryDirectory()
        let failNow = Atomic<Bool>(false)
        var options = LogStore.Options()
        options.syncFunction = { fd, _ in failNow.load(ordering: .relaxed) ? EIO : fdatasync(fd) }
        let store = try LogStore.open(directory: dir.data, options: options)
        let log = try await store.createLog(name: "fragile", fields: .started("x"))
        try await log.append(RecordDraft(type: stepType, payload: Array("acknowledged".utf8)))

        failNow.store(true, ordering: .relaxed)
        let error = await #expect(throws: StorageError.self) {
            try await log.append(RecordDraft(type: stepType, payload: Array("never acknowledged".utf8)))
        }
        #expect(error?.code == .durabilityLost)
        #expect(error?.errno == EIO)
        #expect(error?.description.contains("fdatasync failed") == true)
        #expect(store.fatalError != nil)

        // Even once the disk "recovers", this store acknowledges nothing further.
        failNow.store(false, ordering: .relaxed)
        let later = await #expect(throws: StorageError.self) {
            try await log.append(RecordDraft(type: stepType, payload: [1]))
        }
        #expect(later?.code == .durabilityLost)
        let other = await #expect(throws: StorageError.self) {
            _ = try await store.createLog(name: "other", fields: .started("x"))
        }
        #expect(other?.code == .durabilityLost)
        log.close()

        // A restarted process reads what is really on disk: the acknowledged record is there.
        let restarted = try LogStore.open(directory: dir.data)
        let texts = try restarted.readLog(name: "fragile").records.filter { $0.type == stepType }.map {
            String(decoding: $0.payload, as: UTF8.self)
        }
        #expect(texts.first == "acknowledged")
    }

    @Test("concurrent appends to one log share fdatasyncs and all land in order")
    func concurrentAppendsShareFlushes() async throws {
        let dir = TemporaryDirectory()
        let syncs = Atomic<Int>(0)
        var options = LogStore.Options()
        options.syncFunction = { fd, _ in
            syncs.add(1, ordering: .relaxed)
            return fdatasync(fd)
        }
        let store = try LogStore.open(directory: dir.data, options: options)
        let log = try await store.createLog(name: "busy", fields: .started("x"))
        let before = syncs.load(ordering: .relaxed)
        let seqs = try await withThrowingTaskGroup(of: UInt64.self) { group in
            for i in 0..<200 {
                group.addTask { try await log.append(RecordDraft(type: stepType, payload: Array("\(i)".utf8))) }
            }
            return try await group.reduce(into: [UInt64]()) { $0.append($1) }
        }
        log.close()
        #expect(Set(seqs).count == 200)
        #expect(syncs.load(ordering: .relaxed) - before < 200, "group commit should merge some flushes")
        let contents = try store.readLog(name: "busy")
        #expect(contents.records.count == 201)
        #expect(contents.records.map(\.seq) == Array(1...201))
    }
}
