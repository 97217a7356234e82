import DurableStorage
import DurableTesting
import Foundation
import Synchronization
import Testing

@testable import DurableLog

/// Faults injected below the log (``Durability``'s write and open seams), and a data directory
/// pulled from under a running store.
@Suite("Faults below the log", .timeLimit(.minutes(3)))
struct FaultTests {
    /// A store whose writes to `.wlog` files fail as `fault` says while it is set.
    final class Faults: Sendable {
        let write = Locked<(written: Int, errno: Int32)?>(nil)
        let open = Locked<Int32?>(nil)
        func options() -> LogStore.Options {
            var options = LogStore.Options()
            options.writeFault = { path, _ in path.hasSuffix(".wlog") ? self.write.withLock { $0 } : nil }
            options.openFault = { path in self.open.withLock { $0 } }
            return options
        }
    }

    func payloads(_ records: [LogRecord]) -> [[UInt8]] { records.filter { $0.type.rawValue == 0x40 }.map(\.payload) }

    @Test(
        "a full disk in the middle of an append fails it clearly, loses nothing acknowledged, and appends resume once space is freed",
        arguments: [0, 37])
    func fullDiskMidAppend(_ writtenBeforeFailing: Int) async throws {
        let dir = TemporaryDirectory()
        let faults = Faults()
        let store = try LogStore.open(directory: dir.data, options: faults.options())
        let log = try await store.createLog(name: "full", fields: .started("w"))
        for i in 0..<3 {
            _ = try await log.append(
                RecordDraft(type: RecordType(rawValue: 0x40), payload: [UInt8(i)] + Array(repeating: 7, count: 100)))
        }
        faults.write.withLock { $0 = (writtenBeforeFailing, ENOSPC) }
        let error = await #expect(throws: StorageError.self) {
            _ = try await log.append(
                RecordDraft(type: RecordType(rawValue: 0x40), payload: [99] + Array(repeating: 7, count: 100)))
        }
        #expect(
            error?.errno == ENOSPC && error?.description.contains("No space left on device") == true,
            "\(String(describing: error))")
        let afterFailure = try store.readLog(name: "full")
        #expect(afterFailure.outcome == .clean, "a short write is cut back")
        #expect(payloads(afterFailure.records).map(\.first) == [0, 1, 2])
        faults.write.withLock { $0 = nil }  // space freed
        _ = try await log.append(
            RecordDraft(type: RecordType(rawValue: 0x40), payload: [3] + Array(repeating: 7, count: 100)))
        log.close()
        let reopened = try LogStore.open(directory: dir.data)
        #expect(payloads(try reopened.readLog(name: "full").records).map(\.first) == [0, 1, 2, 3])
    }

    @Test(
        "a read-only filesystem or a permission error when creating or opening a log is a clear error that changes nothing",
        arguments: [EROFS, EACCES])
    func refusedOpens(_ code: Int32) async throws {
        let dir = TemporaryDirectory()
        let faults = Faults()
        let store = try LogStore.open(directory: dir.data, options: faults.options())
        (try await store.createLog(name: "existing", fields: .started("w"))).close()
        faults.open.withLock { $0 = code }
        let created = await #expect(throws: StorageError.self) {
            _ = try await store.createLog(name: "new", fields: .started("w"))
        }
        #expect(created?.errno == code)
        let opened = await #expect(throws: StorageError.self) { _ = try await store.openLog(name: "existing") }
        #expect(opened?.errno == code)
        #expect(store.index.entry(forWorkflowID: "new") == nil)
        #expect(!FileManager.default.fileExists(atPath: try store.logPath(name: "new")))
        faults.open.withLock { $0 = nil }
        (try await store.createLog(name: "new", fields: .started("w"))).close()
        #expect(try store.check().hasProblems == false)
    }

    @Test(
        "a data directory deleted or replaced under a running store is named as such, and nothing is written elsewhere")
    func directoryPulledAway() async throws {
        let dir = TemporaryDirectory()
        let store = try LogStore.open(directory: dir.data)
        (try await store.createLog(name: "before", fields: .started("w"))).close()
        try FileManager.default.removeItem(atPath: dir.data)
        let deleted = await #expect(throws: StorageError.self) {
            _ = try await store.createLog(name: "after", fields: .started("w"))
        }
        #expect(deleted?.message.contains("deleted while this process was using it") == true)
        #expect(!FileManager.default.fileExists(atPath: dir.data), "nothing recreated it")
        _ = try LogStore.open(directory: dir.data)  // someone makes a new one in its place
        let replaced = await #expect(throws: StorageError.self) {
            _ = try await store.createLog(name: "after", fields: .started("w"))
        }
        #expect(replaced?.message.contains("replaced") == true)
        #expect(try LogStore.open(directory: dir.data).index.count == 0)
    }
}
