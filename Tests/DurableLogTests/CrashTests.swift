import Foundation
import DurableTesting
import Testing

@testable import DurableLog

@Suite("Crashes: real child processes killed with SIGKILL", .timeLimit(.minutes(5)))
struct CrashTests {
    /// The texts of the step records in a log, in order.
    static func recordTexts(_ contents: LogContents) -> [String] {
        contents.records.filter { $0.type == stepType }.map { record in
            String(decoding: record.payload.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    @Test("every acknowledged append survives SIGKILL at random moments, and appending continues")
    func acknowledgedAppendsSurviveKills() async throws {
        let dir = TemporaryDirectory()
        let ackPath = dir.path + "/acks.txt"
        let rounds = 40
        var generator = SystemRandomNumberGenerator()
        for round in 0..<rounds {
            let child = try ChildProcess(
                "DurableTestHelper", ["append-loop", dir.data, "crash-me", ackPath, round % 2 == 0 ? "1" : "4"])
            try await Task.sleep(for: .milliseconds(Int.random(in: 20...120, using: &generator)))
            child.kill()

            // A reader (no lock) sees every acknowledged record, each exactly once.
            let store = try LogStore.open(directory: dir.data)
            let acknowledgedSoFar = String(decoding: fileBytes(ackPath), as: UTF8.self)
            let logPath = try store.logPath(name: "crash-me")
            // killed before it created the log (a slow start): then it acknowledged nothing
            guard store.index.entry(forWorkflowID: "crash-me") != nil || SystemCall.exists(logPath) else {
                #expect(acknowledgedSoFar.isEmpty, "round \(round): acknowledged appends to a log that does not exist")
                continue
            }
            let contents = try store.readLog(name: "crash-me")
            #expect(contents.outcome != LogScan.Outcome.corrupted(reason: ""), "round \(round)")
            if case .corrupted(let reason) = contents.outcome { Issue.record("round \(round): \(reason)") }
            let present = Self.recordTexts(contents)
            #expect(Set(present).count == present.count, "round \(round): a record appears twice")
            let acknowledged = String(decoding: fileBytes(ackPath), as: UTF8.self).split(separator: "\n").map(
                String.init)
            let missing = Set(acknowledged).subtracting(present)
            #expect(missing.isEmpty, "round \(round): \(missing.count) acknowledged records are missing")
        }
        // The lease holder repairs any torn tail and appends after the last valid record.
        let store = try LogStore.open(directory: dir.data)
        let (log, records) = try await store.openLog(name: "crash-me")
        let last = try await log.append(RecordDraft(type: stepType, payload: Array("final".utf8)))
        #expect(last == (records.last?.seq ?? 0) + 1)
        log.close()
        let final = try store.readLog(name: "crash-me")
        #expect(final.outcome == .clean)
        #expect(Self.recordTexts(final).last == "final")
        #expect(final.records.map(\.seq) == Array(1...UInt64(final.records.count)))
    }

    @Test("a reader beside a live writer always sees a consistent, growing prefix and takes no lock")
    func readerBesideLiveWriter() async throws {
        let dir = TemporaryDirectory()
        let child = try ChildProcess(
            "DurableTestHelper", ["append-loop", dir.data, "live", dir.path + "/acks", "4", "150"])
        defer { child.kill() }
        let store = try LogStore.open(directory: dir.data)
        var previous = 0
        var reads = 0
        while reads < 30 {
            guard let contents = try? store.readLog(name: "live") else {
                try await Task.sleep(for: .milliseconds(2))
                continue
            }
            reads += 1
            if case .corrupted(let reason) = contents.outcome { Issue.record("read \(reads): \(reason)") }
            #expect(contents.records.count >= previous, "the prefix must only grow")
            let contiguous = contents.records.enumerated().allSatisfy { $0.element.seq == UInt64($0.offset + 1) }
            #expect(contiguous)
            previous = contents.records.count
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(previous > 0)
        // `durable check` beside the writer: no corruption, exit 0.
        let check = try ChildProcess("durable", ["check", "--dir", dir.data])
        #expect(check.wait().status == 0)
        #expect(try store.isLeaseHeld(name: "live"), "the writer still holds its lease")
    }

    @Test("two processes race for one lease: exactly one wins, and killing it frees the lease at once")
    func leaseRace() async throws {
        let dir = TemporaryDirectory()
        _ = try LogStore.open(directory: dir.data)
        for round in 0..<5 {
            let name = "contended-\(round)"
            let a = try ChildProcess("DurableTestHelper", ["hold-lease", dir.data, name])
            let b = try ChildProcess("DurableTestHelper", ["hold-lease", dir.data, name])
            let answers = [a.firstLine(), b.firstLine()]
            #expect(answers.sorted() == ["busy", "won"], "round \(round): \(answers)")
            let (winner, loser) = answers[0] == "won" ? (a, b) : (b, a)
            #expect(loser.wait().status == 3)

            let store = try LogStore.open(directory: dir.data)
            #expect(try store.isLeaseHeld(name: name))
            await #expect(throws: StorageError.self) { _ = try await store.openLog(name: name) }
            winner.kill()
            #expect(try store.isLeaseHeld(name: name) == false)
            let (log, _) = try await store.openLog(name: name)
            log.close()
        }
    }
}
