import Foundation
import DurableTesting
import Testing

@testable import DurableLog

@Suite("Torn tails and corruption", .timeLimit(.minutes(3)))
struct DamageTests {
    /// Writes a log with a few records and returns its path and the records' offsets.
    static func makeLog(
        _ dir: TemporaryDirectory, name: String, count: Int
    ) async throws -> (path: String, records: [LogRecord]) {
        let store = try LogStore.open(directory: dir.data)
        let log = try await store.createLog(name: name, fields: .started("damage"))
        for i in 0..<count {
            try await log.append(
                RecordDraft(
                    type: stepType,
                    payload: samplePayload(size: 100 + i * 50, seed: UInt64(i), compressible: i % 2 == 0)))
        }
        log.close()
        let contents = try store.readLog(name: name)
        return (contents.path, contents.records)
    }

    @Test("a log truncated at every byte offset of its last record keeps every earlier record")
    func truncationAtEveryOffset() async throws {
        let dir = TemporaryDirectory()
        let (path, records) = try await Self.makeLog(dir, name: "truncate-me", count: 5)
        let original = fileBytes(path)
        let last = records.last!
        let earlier = Array(records.dropLast())
        let store = try LogStore.open(directory: dir.data)
        // Cutting only the zero padding after the last payload leaves that record whole.
        let payloadEnd = last.offset + LogFormat.recordHeaderSize + last.storedSize
        for cut in last.offset..<original.count {
            writeFile(path, Array(original.prefix(cut)))
            let contents = try store.readLog(name: "truncate-me")
            let whole = cut == last.offset || cut >= payloadEnd
            #expect(contents.outcome == (whole ? .clean : .torn), "cut at \(cut)")
            let expected = cut >= payloadEnd ? records : earlier
            let same = contents.records == expected
            #expect(same, "cut at \(cut)")
        }
        // The lease holder repairs the tail (keeping the cut bytes aside) and appends again.
        writeFile(path, Array(original.prefix(last.offset + 10)))
        let (log, reopened) = try await store.openLog(name: "truncate-me")
        #expect(reopened == earlier)
        #expect(try await log.append(RecordDraft(type: stepType, payload: [7])) == last.seq)
        log.close()
        #expect(try store.readLog(name: "truncate-me").outcome == .clean)
        let aside = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
            .filter { $0.contains(".torn-") }
        #expect(aside.count == 1)
    }

    @Test("a bit flip in a middle record is corruption, and the file is left byte for byte unchanged")
    func bitFlipIsCorruption() async throws {
        let dir = TemporaryDirectory()
        let (path, records) = try await Self.makeLog(dir, name: "flip-me", count: 6)
        let original = fileBytes(path)
        let middle = records[3]
        let store = try LogStore.open(directory: dir.data)
        // Flip one bit at a time in the middle record's header and payload.
        let end = middle.offset + LogFormat.recordHeaderSize + middle.storedSize
        for position in stride(from: middle.offset, to: end, by: max(1, (end - middle.offset) / 40)) {
            var damaged = original
            damaged[position] ^= 0x10
            writeFile(path, damaged)
            let contents = try store.readLog(name: "flip-me")
            guard case .corrupted = contents.outcome else {
                Issue.record("flip at \(position) was not reported as corruption: \(contents.outcome)")
                continue
            }
            let prefixKept = contents.records == Array(records.prefix(3))
            #expect(prefixKept)
        }
        var damaged = original
        damaged[middle.offset + LogFormat.recordHeaderSize] ^= 0x01
        writeFile(path, damaged)
        let error = await #expect(throws: StorageError.self) { _ = try await store.openLog(name: "flip-me") }
        #expect(error?.code == .corrupted)
        #expect(fileBytes(path) == damaged, "the corrupted log must not be modified")
        #expect(store.index.entry(forWorkflowID: "flip-me")?.isQuarantined == true)
        let report = try store.check()
        #expect(report.corruptedCount == 1)
    }

    @Test("a damaged file header is corruption, never a repair")
    func damagedHeader() async throws {
        let dir = TemporaryDirectory()
        let (path, _) = try await Self.makeLog(dir, name: "header", count: 2)
        var damaged = fileBytes(path)
        damaged[20] ^= 0xFF
        writeFile(path, damaged)
        let store = try LogStore.open(directory: dir.data)
        guard case .corrupted = try store.readLog(name: "header").outcome else {
            Issue.record("a damaged header must be corruption")
            return
        }
        await #expect(throws: StorageError.self) { _ = try await store.openLog(name: "header") }
        #expect(fileBytes(path) == damaged)
    }
}
