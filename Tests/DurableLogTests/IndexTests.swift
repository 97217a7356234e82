import DurableStorage
import Foundation
import DurableTesting
import Testing

@testable import DurableLog

@Suite("The index", .timeLimit(.minutes(3)))
struct IndexTests {
    /// A directory with workflows in assorted states, some updated several times.
    static func populate(_ dir: TemporaryDirectory, count: Int = 60) async throws -> LogStore {
        let store = try LogStore.open(directory: dir.data)
        for i in 0..<count {
            var fields = IndexFields.started("workflow-\(i % 3)")
            fields.queueName = i % 4 == 0 ? "emails" : nil
            fields.applicationVersion = "1.0"
            let log = try await store.createLog(
                name: "wf-\(i)", fields: fields, records: [RecordDraft(type: stepType, payload: [1])])
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

    /// Ways the index files can be lost or damaged.
    enum IndexDamage: String, CaseIterable, Sendable {
        case indexDirectoryDeleted, indexDirectoryEmptied, currentDamaged, currentMissing, snapshotMissing,
            snapshotDamaged
        case logMissing, logDamagedInTheMiddle

        func apply(to data: String) throws {
            let index = data + "/index"
            let names = try FileManager.default.contentsOfDirectory(atPath: index)
            let snapshot = index + "/" + names.first { $0.hasPrefix("snap-") }!
            let log = index + "/" + names.first { $0.hasPrefix("log-") }!
            switch self {
            case .indexDirectoryDeleted: try FileManager.default.removeItem(atPath: index)
            case .indexDirectoryEmptied:
                for name in names { try FileManager.default.removeItem(atPath: index + "/" + name) }
            case .currentDamaged:
                var bytes = fileBytes(index + "/CURRENT")
                bytes[10] ^= 0xff
                writeFile(index + "/CURRENT", bytes)
            case .currentMissing: try FileManager.default.removeItem(atPath: index + "/CURRENT")
            case .snapshotMissing: try FileManager.default.removeItem(atPath: snapshot)
            case .snapshotDamaged:
                var bytes = fileBytes(snapshot)
                bytes[bytes.count - 20] ^= 0x40
                writeFile(snapshot, bytes)
            case .logMissing: try FileManager.default.removeItem(atPath: log)
            case .logDamagedInTheMiddle:
                var bytes = fileBytes(log)
                bytes[bytes.count / 2] ^= 0x40
                writeFile(log, bytes)
            }
        }
    }

    @Test(
        "a lost or damaged index never keeps the directory closed: opening rebuilds it from the logs, identically",
        .timeLimit(.minutes(3)), arguments: IndexDamage.allCases)
    func damagedIndexIsRebuiltAtOpen(_ damage: IndexDamage) async throws {
        let dir = TemporaryDirectory()
        let store = try await Self.populate(dir)
        if damage == .snapshotDamaged { try store.rebuildIndex() }  // entries in the snapshot, not only the log
        let before = store.index.allEntries()
        #expect(before.count == 60 && before.filter { $0.status == .success }.count == 20)
        try damage.apply(to: dir.data)

        let reopened = try LogStore.open(directory: dir.data)
        #expect(reopened.index.allEntries() == before)
        #expect(reopened.index.damage == nil)
        #expect(
            reopened.index.repaired?.contains("rebuilt from 60 logs") == true,
            "\(reopened.index.repaired ?? "no repair noted")")
        #expect(try reopened.check().hasProblems == false)
        // Another process loading the rebuilt generation sees the same, with nothing to repair.
        let third = try LogStore.open(directory: dir.data)
        #expect(third.index.allEntries() == before && third.index.repaired == nil)
        // The rebuilt index takes appends, and `index rebuild` works on it again.
        let log = try await reopened.createLog(name: "after-repair", fields: .started("late"))
        log.close()
        try third.index.refresh()
        #expect(third.index.entry(forWorkflowID: "after-repair") != nil)
        #expect(try reopened.rebuildIndex() == 61)
    }

    @Test(
        "durable index rebuild works in every damaged state", .timeLimit(.minutes(3)), arguments: IndexDamage.allCases)
    func rebuildCommandWorksOnADamagedIndex(_ damage: IndexDamage) async throws {
        let dir = TemporaryDirectory()
        let before = try await Self.populate(dir, count: 5).index.allEntries()
        try damage.apply(to: dir.data)
        let (status, output) = try runDurable(["index", "rebuild", "--dir", dir.data])
        #expect(status == 0, "\(output)")
        #expect(output.contains("index rebuilt from 5 logs"))
        #expect(try LogStore.open(directory: dir.data).index.allEntries() == before)
    }

    @Test(
        "an index damaged under a running store is rebuilt by its next append, which is kept", .timeLimit(.minutes(3)))
    func damageUnderARunningStoreHealsOnAppend() async throws {
        let dir = TemporaryDirectory()
        let store = try await Self.populate(dir, count: 10)
        var current = fileBytes(dir.data + "/index/CURRENT")
        current[10] ^= 0xff
        writeFile(dir.data + "/index/CURRENT", current)
        let late = try await store.createLog(name: "late", fields: .started("late"))
        late.close()
        #expect(store.index.count == 11)
        #expect(store.index.repaired?.contains("CURRENT") == true, "\(store.index.repaired ?? "no repair noted")")
        let reopened = try LogStore.open(directory: dir.data)
        #expect(reopened.index.allEntries() == store.index.allEntries() && reopened.index.repaired == nil)
    }

    @Test(
        "the index log is compacted into a snapshot once it outgrows it, and other processes follow",
        .timeLimit(.minutes(3)))
    func indexLogIsCompacted() async throws {
        let dir = TemporaryDirectory()
        let store = try LogStore.open(directory: dir.data)
        let other = try LogStore.open(directory: dir.data)
        let generation = store.index.generation
        // Each update carries a large incompressible attribute, so the log passes the threshold quickly.
        let padding = (0..<2000).map { _ in String(UInt8.random(in: 0...255), radix: 16) }.joined()
        var n = 0
        while store.index.generation == generation && n < 5000 {
            let log = try await store.createLog(name: "wf-\(n)", fields: .started("big"))
            var delta = IndexDelta()
            delta.attributes["note"] = padding + "\(n)"
            try await log.append([.indexUpdate(delta)])
            log.close()
            n += 1
            if n % 100 == 0 { try await Task.sleep(for: .milliseconds(10)) }  // let the compaction run
        }
        #expect(store.index.generation > generation, "compacted after \(n) workflows")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.data + "/index")
        #expect(files.filter { $0.hasPrefix("log-") }.count == 1, "\(files)")
        let logSize =
            try FileManager.default.attributesOfItem(
                atPath: dir.data + "/index/" + files.first { $0.hasPrefix("log-") }!)[.size] as! Int
        #expect(logSize < WorkflowIndex.compactionThreshold)
        try other.index.refresh()
        #expect(other.index.allEntries() == store.index.allEntries())
        let known = Set(store.index.allEntries().compactMap(\.fields.workflowID))
        #expect(store.index.count == n, "missing: \((0..<n).map { "wf-\($0)" }.filter { !known.contains($0) })")
        #expect(try LogStore.open(directory: dir.data).index.allEntries() == store.index.allEntries())
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

    @Test("replaying the index log in one batch gives what applying its deltas one at a time gave")
    func replayAppliesDeltasInOrder() async throws {
        let dir = TemporaryDirectory()
        let store = try LogStore.open(directory: dir.data)
        let gone = try LogKey(name: "gone"), waiting = try LogKey(name: "waiting"),
            started = try LogKey(name: "started")
        func delta(_ edit: (inout IndexDelta) -> Void) -> IndexDelta {
            var delta = IndexDelta()
            edit(&delta)
            return delta
        }
        let items: [WorkflowIndex.Item] = [
            (
                gone, 1,
                delta {
                    $0.workflowID = "gone"; $0.name = "first"; $0.queueName = "q"; $0.status = .enqueued
                }
            ),
            (gone, 0, delta { $0.removed = true }),
            (
                gone, 1,
                delta {
                    $0.workflowID = "gone"; $0.name = "second"
                }
            ),
            (
                waiting, 1,
                delta {
                    $0.workflowID = "waiting"; $0.queueName = "q"; $0.status = .enqueued
                }
            ),
            (
                started, 1,
                delta {
                    $0.workflowID = "started"; $0.queueName = "q"; $0.status = .enqueued
                }
            ),
            (started, 3, delta { $0.status = .pending }),
            (started, 2, delta { $0.status = .enqueued }),  // older than what was applied: ignored
            (started, 0, delta { $0.corruption = "damaged" }),  // out of band: always applies
        ]
        for item in items { try await store.index.record([item]) }  // one flush each
        let replayed = try LogStore.open(directory: dir.data)  // the whole log in one batch
        #expect(
            replayed.index.allEntries().sorted { $0.key < $1.key }
                == store.index.allEntries().sorted { $0.key < $1.key })
        for index in [store.index, replayed.index] {
            #expect(index.count == 3)
            #expect(index.entry(for: gone)?.fields.name == "second")
            #expect(index.entry(for: gone)?.queueName == nil)
            #expect(index.entry(for: started)?.status == .pending)
            #expect(index.entry(for: started)?.logSeq == 3)
            #expect(index.entry(for: started)?.isQuarantined == true)
            #expect(index.waitingEntries(inQueue: "q").map(\.workflowID) == ["waiting"])
        }
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

    @Test("an entry's one-field readers agree with its decoded fields, before and after deltas")
    func entryReadersAgreeWithFields() throws {
        let key = try LogKey(name: "wf-1")
        var entry = IndexEntry(key: key)
        #expect(entry.workflowID == "" && entry.status == .pending && !entry.isQuarantined && entry.createdAt == 0)
        #expect(entry.name == nil && entry.queueName == nil && entry.parentWorkflowID == nil)
        var started = IndexFields.started("checkout")
        started.workflowID = "wf-1"
        started.createdAt = -1_700_000_000_123  // negative: the zigzag encoding must round-trip
        started.queueName = String(repeating: "q", count: 300)
        entry.apply(started, seq: 1)
        var ended = IndexDelta()
        ended.status = .maxRecoveryAttemptsExceeded
        ended.updatedAt = 42
        ended.parentWorkflowID = "parent"
        ended.applicationVersion = "v2"
        entry.apply(ended, seq: 2)
        entry.apply(IndexDelta(), seq: 1)  // an older delta changes nothing
        let f = entry.fields
        #expect(entry.workflowID == f.workflowID && entry.status == f.status && entry.name == f.name)
        #expect(entry.queueName == f.queueName && entry.createdAt == f.createdAt && entry.updatedAt == f.updatedAt)
        #expect(entry.applicationVersion == "v2" && entry.parentWorkflowID == "parent" && entry.logSeq == 2)
        entry.fields.corruption = "torn"
        #expect(
            entry.isQuarantined && entry.fields.corruption == "torn" && entry.status == .maxRecoveryAttemptsExceeded)
        #expect(LogKey(bytes: key.bytes) == key && LogKey(hex: key.hex) == key && key.bytes.count == 16)
        let other = try LogKey(name: "wf-2")
        #expect((key < other) == key.bytes.lexicographicallyPrecedes(other.bytes))
    }
}

@Suite("The index beside live writers", .timeLimit(.minutes(3)))
struct IndexLagTests {
    @Test("check reports an entry behind a log nobody holds, and passes one whose writer is alive")
    func checkTellsALiveWriterFromADeadOne() async throws {
        let dir = TemporaryDirectory()
        _ = try await IndexTests.populate(dir, count: 3)
        let holder = try ChildProcess("DurableTestHelper", ["hold-lease", dir.data, "held-1"])
        #expect(holder.firstLine() == "won")
        let store = try LogStore.open(directory: dir.data)
        let entries = store.index.allEntries()
        // The index loses what it knew of every log, as if each writer died before its index append.
        try store.index.replace(with: [])
        let live = try store.check()
        #expect(Set(live.staleIndexEntries) == ["wf-0", "wf-1", "wf-2"], "the held log is a writer catching up")
        holder.kill()
        let dead = try store.check()
        #expect(Set(dead.staleIndexEntries) == ["wf-0", "wf-1", "wf-2", "held-1"])
        #expect(try await store.reconcileIndex() == 4)
        #expect(try store.check().hasProblems == false)
        #expect(store.index.count == entries.count)
    }

    @Test("read-only commands create and change nothing, even with a damaged index", .timeLimit(.minutes(3)))
    func readOnlyCommandsWriteNothing() async throws {
        let dir = TemporaryDirectory()
        let helper = try ChildProcess("DurableTestHelper", ["features", dir.data])
        let made = helper.allOutput().split(separator: "\n").count
        try #require(helper.wait().status == 0 && made > 10)
        var current = fileBytes(dir.data + "/index/CURRENT")
        current[10] ^= 0xff
        writeFile(dir.data + "/index/CURRENT", current)
        func tree() throws -> [String: String] {
            var files: [String: String] = [:]
            for path in try FileManager.default.subpathsOfDirectory(atPath: dir.data) {
                let attributes = try FileManager.default.attributesOfItem(atPath: dir.data + "/" + path)
                files[path] =
                    "\(attributes[.size] ?? 0) \((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
            }
            return files
        }
        let before = try tree()
        var (status, output) = try runDurable(["list", "--dir", dir.data, "--json"])
        #expect(status == 0 && output.split(separator: "\n").count == made, "\(output)")
        for command in [
            ["inspect", "f-steps"], ["steps", "f-steps"], ["dump", "f-talk"], ["events", "f-events"],
            ["stream", "f-events", "items"], ["export", "--dry-run"],
        ] {
            (status, output) = try runDurable(command + ["--dir", dir.data])
            #expect(status == 0, "\(command): \(output)")
        }
        (status, output) = try runDurable(["check", "--dir", dir.data])
        #expect(status == 1, "a damaged index is a problem to report: \(output)")
        #expect(output.contains("CURRENT"))
        #expect(try tree() == before)
        // A command that writes repairs it; then check passes.
        (status, output) = try runDurable(["index", "rebuild", "--dir", dir.data])
        #expect(status == 0)
        (status, output) = try runDurable(["check", "--dir", dir.data])
        #expect(status == 0, "\(output)")
    }
}
