import DurableLog
import DurableStorage
import DurableTesting
import Foundation
import Testing

@Suite("Following a log with a cursor", .timeLimit(.minutes(3)))
struct CursorTests {
    func draft(_ text: String) -> RecordDraft {
        RecordDraft(type: RecordType(rawValue: 0x10), payload: Array(text.utf8))
    }
    func texts(_ records: [LogRecord]) -> [String] {
        records.filter { $0.type.rawValue == 0x10 }.map { String(decoding: $0.payload, as: UTF8.self) }
    }

    @Test("each call returns only what was appended since the last one")
    func incremental() async throws {
        let dir = TemporaryDirectory()
        let store = try LogStore.open(directory: dir.data)
        var cursor = try store.logCursor(name: "w")
        #expect(try await store.readNewRecords(&cursor).isEmpty, "no file yet")
        let writer = try await store.createLog(name: "w", fields: IndexFields(), records: [draft("a")])
        #expect(try await texts(store.readNewRecords(&cursor)) == ["a"])
        #expect(try await store.readNewRecords(&cursor).isEmpty)
        _ = try await writer.append([draft("b"), draft(String(repeating: "c", count: 5000))])
        #expect(try await texts(store.readNewRecords(&cursor)) == ["b", String(repeating: "c", count: 5000)])
        _ = try await writer.append(draft("d"))
        #expect(try await texts(store.readNewRecords(&cursor)) == ["d"])
        #expect(cursor.resets == 0)
        writer.close()
    }

    @Test("a half-written record is not returned until it is complete")
    func partialRecord() async throws {
        let dir = TemporaryDirectory()
        let store = try LogStore.open(directory: dir.data)
        let writer = try await store.createLog(name: "w", fields: IndexFields(), records: [draft("a")])
        _ = try await writer.append(draft("b"))
        writer.close()
        let path = try store.logPath(name: "w")
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        let records = try store.readLog(name: "w").records
        let cut = records.last!.offset + 10  // inside the last record
        try full.prefix(cut).write(to: URL(fileURLWithPath: path))
        var cursor = try store.logCursor(name: "w")
        #expect(try await texts(store.readNewRecords(&cursor)) == ["a"])  // "b" is still being written
        #expect(try await texts(store.readNewRecords(&cursor)) == [])
        try full.write(to: URL(fileURLWithPath: path))  // the rest of the write lands
        #expect(try await texts(store.readNewRecords(&cursor)) == ["b"])
        #expect(cursor.resets == 0)
    }

    @Test("when records it returned are cut back and replaced, the cursor starts over")
    func cutBack() async throws {
        let dir = TemporaryDirectory()
        let store = try LogStore.open(directory: dir.data)
        var writer = try await store.createLog(name: "w", fields: IndexFields(), records: [draft("a")])
        _ = try await writer.append([draft("b"), draft("c")])
        writer.close()
        var cursor = try store.logCursor(name: "w")
        #expect(try await texts(store.readNewRecords(&cursor)) == ["a", "b", "c"])
        // Cut "c" off (as a writer does after a failed write) and append a different record
        // with the same sequence number.
        let path = try store.logPath(name: "w")
        let records = try store.readLog(name: "w").records
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        try full.prefix(records.last!.offset).write(to: URL(fileURLWithPath: path))
        writer = try await store.openLog(name: "w").writer
        _ = try await writer.append(draft("C"))
        writer.close()
        #expect(try await texts(store.readNewRecords(&cursor)) == ["a", "b", "C"])
        #expect(cursor.resets == 1)
    }
}
