import DurableLog
import DurableExport
import DurableTesting
import DurableWorkflows
import Foundation
import Testing

/// The mapping, row by row, on a real directory the helper's `features` fixture wrote (no
/// PostgreSQL needed: these run under a bare `swift test`).
@Suite("DBOS mapping", .serialized, .timeLimit(.minutes(3)))
struct MappingTests {
    /// The fixture's directory and every row its export produces, by workflow ID.
    final class Exported: Sendable {
        let directory = TemporaryDirectory("mapping")
        let rows: [String: [DBOSRow]]
        let shared: [DBOSRow]
        let report: ExportReport

        init() throws {
            let (status, _, err) = try Interop.run(builtExecutable("DurableTestHelper"), ["features", directory.data])
            guard status == 0 else { throw InteropError("features fixture failed: \(err)") }
            var rows: [String: [DBOSRow]] = [:], shared: [DBOSRow] = []
            report = try DataDirectoryExporter(store: try LogStore.open(directory: directory.data)).export(
                ExportSelection()
            ) { written, id in
                if let id { rows[id, default: []] += written } else { shared += written }
            }
            self.rows = rows
            self.shared = shared
        }

        func rows(_ id: String, _ table: DBOSTable) -> [DBOSRow] { rows[id, default: []].filter { $0.table == table } }
        func status(_ id: String) throws -> DBOSRow { try #require(rows(id, .workflowStatus).first) }
        func operations(_ id: String) -> [DBOSRow] { rows(id, .operationOutputs) }
    }

    static let exported = Result { try Exported() }

    func text(_ value: SQLValue) -> String? { if case .text(let s) = value { s } else { nil } }
    func integer(_ value: SQLValue) -> Int64? { if case .integer(let n) = value { n } else { nil } }

    @Test func stableUUIDsAreDeterministicAndUUIDShaped() {
        let a = DBOSMapping.stableUUID("message", "wf", "1")
        #expect(a == DBOSMapping.stableUUID("message", "wf", "1"))
        #expect(a != DBOSMapping.stableUUID("message", "wf1", ""))
        #expect(a.count == 36)
    }

    @Test func messagingOperationsTakeDBOSNamesAndTwoPositionsEach() throws {
        let x = try Self.exported.get()
        let ops = x.operations("f-talk")
        #expect(ops.map { integer($0["function_id"]) } == (1...9).map(Int64.init))
        #expect(
            ops.map { text($0["function_name"]) } == [
                "DBOS.recv", "DBOS.sleep", "DBOS.recv", "DBOS.sleep", "DBOS.getEvent", "DBOS.sleep", "DBOS.send",
                "f-child", "DBOS.getResult",
            ])
        #expect(text(ops[0]["output"]) == #""hello, talk""#)
        #expect(text(ops[2]["output"]) == "null", "a recv that timed out records null")
        #expect(text(ops[4]["output"]) == "true")
        // A DBOS.sleep records its deadline as epoch seconds (a JSON float), 30 s after the call.
        let started = try #require(integer(ops[1]["started_at_epoch_ms"]))
        let deadline = try #require(text(ops[1]["output"]).flatMap { Double($0) })
        #expect(abs(deadline - (Double(started) / 1000 + 30)) < 0.01)
        for op in [ops[6], ops[7]] {  // send and a child's start: no output, no serialization
            #expect(op["output"] == .null && op["serialization"] == .null)
        }
        #expect(
            text(ops[7]["child_workflow_id"]) == "f-talk-child" && text(ops[8]["child_workflow_id"]) == "f-talk-child")
        #expect(text(ops[8]["output"]) == "42")
        for op in ops where op["output"] != .null { #expect(text(op["serialization"]) == "portable_json") }
        #expect(text(try x.status("f-talk-child")["parent_workflow_id"]) == "f-talk")
    }

    @Test func stepsMapValuesNothingAndErrorsAsDBOSWritesThem() throws {
        let x = try Self.exported.get()
        let ops = Dictionary(uniqueKeysWithValues: x.operations("f-steps").map { (text($0["function_name"])!, $0) })
        #expect(text(try #require(ops["value"])["output"]) == "42")
        #expect(text(try #require(ops["nothing"])["output"]) == "null", "a step that returned nothing records null")
        let failed = try #require(ops["fails"])
        #expect(failed["output"] == .null)
        let encoded = try #require(text(failed["error"]))
        let error = try JSONSerialization.jsonObject(with: Data(encoded.utf8)) as? [String: Any]
        #expect(error?["name"] as? String == "FeatureError" && error?["message"] as? String == "card declined")
        #expect(text(try #require(ops["flaky"])["output"]) == #""third time""#)
        let output = try #require(x.rows("f-error", .workflowOutput).first)
        #expect(output["output"] == .null)
        #expect(text(output["error"])?.contains(#""message":"f-error failed on purpose""#) == true)
        #expect(text(try x.status("f-error")["status"]) == "ERROR")
    }

    @Test func eventsStreamsAndMessagesKeepHistoryTheCloseSentinelAndTheirConsumer() throws {
        let x = try Self.exported.get()
        let latest = x.rows("f-events", .workflowEvents).map { "\(text($0["key"])!)=\(text($0["value"])!)" }
        #expect(latest == [#"progress={"step":3}"#, "ready=true"])
        #expect(x.rows("f-events", .workflowEventsHistory).map { integer($0["function_id"])! } == [1, 2, 3, 9])
        let streams = x.rows("f-events", .streams).map {
            "\(text($0["key"])!)@\(integer($0["offset"])!)=\(text($0["value"])!)"
        }
        #expect(
            streams == [
                #"items@0="a""#, #"items@1="b""#, #"items@2="c""#, #"items@3="__DBOS_STREAM_CLOSED__""#, "open@0=1",
            ])
        for name in ["DBOS.setEvent", "DBOS.writeStream", "DBOS.closeStream"] {
            for op in x.operations("f-events") where text(op["function_name"]) == name {
                #expect(op["output"] == .null)
            }
        }
        let note = try #require(x.rows("f-events", .notifications).first)
        #expect(text(note["topic"]) == "note" && text(note["message"]) == #""from f-talk""#)
        #expect(note["consumed"] == .boolean(true) && integer(note["consumed_by_function_id"]) == 10)
        let greeting = try #require(x.rows("f-talk", .notifications).first)
        #expect(integer(greeting["consumed_by_function_id"]) == 1)
    }

    @Test func queueFieldsFollowTheWorkflowsState() throws {
        let x = try Self.exported.get()
        let done = try x.status("f-queued-done")
        #expect(text(done["queue_name"]) == "features-q" && integer(done["priority"]) == 3)
        #expect(done["deduplication_id"] == .null, "an ended workflow releases its deduplication ID")
        let delayed = try x.status("f-delayed")
        #expect(text(delayed["status"]) == "DELAYED")
        #expect(try #require(integer(delayed["delay_until_epoch_ms"])) > integer(delayed["created_at"])! + 3_000_000)
        let debounced = try #require(x.rows.values.first { $0.first?["is_debounced"] == .boolean(true) }?.first)
        #expect(text(debounced["status"]) == "DELAYED" && text(debounced["deduplication_id"]) == "f-job-doc-1")
        #expect(text(try x.status("f-enqueued")["status"]) == "ENQUEUED")
        #expect(text(try x.status("f-forked")["forked_from"]) == "f-steps")
        #expect(text(try x.status("f-waiting")["status"]) == "PENDING" && x.rows("f-waiting", .workflowOutput).isEmpty)
        #expect(text(try x.status("f-cancelled")["status"]) == "CANCELLED")
        let tick = try #require(x.rows.keys.first { $0.hasPrefix("sched-features-cron-") })
        #expect(text(try x.status(tick)["schedule_name"]) == "features-cron")
    }

    @Test func queuesSchedulesAndVersionsAreExportedOnce() throws {
        let x = try Self.exported.get()
        let queues = x.shared.filter { $0.table == .queues }
        #expect(queues.map { text($0["name"]) } == ["features-q"], "the internal queue is DBOS's in-memory queue")
        #expect(queues.first?["rate_limit_period_sec"] == .real(60))
        let schedule = try #require(x.shared.first { $0.table == .workflowSchedules })
        #expect(text(schedule["status"]) == "PAUSED" && text(schedule["workflow_name"]) == "f-tick")
        let versions = x.shared.filter { $0.table == .applicationVersions }
        #expect(versions.map { text($0["version_name"]) } == ["features"])
        #expect(x.report.workflows == x.rows.count && x.report.skipped.isEmpty)
    }

    @Test func aDamagedLogIsReportedByIDAndNothingOfItIsExported() throws {
        let directory = TemporaryDirectory()
        let (status, _, err) = try Interop.run(builtExecutable("DurableTestHelper"), ["features", directory.data])
        try #require(status == 0, "\(err)")
        let store = try LogStore.open(directory: directory.data)
        let path = try store.logPath(name: "f-steps")
        var bytes = try #require(FileManager.default.contents(atPath: path))
        bytes[bytes.count / 2] ^= 0xff
        try bytes.write(to: URL(fileURLWithPath: path))
        var exported: Set<String> = []
        let report = try DataDirectoryExporter(store: try LogStore.open(directory: directory.data)).export(
            ExportSelection()
        ) { _, id in
            if let id { exported.insert(id) }
        }
        #expect(!exported.contains("f-steps"))
        #expect(exported.contains("f-forked"))
        #expect(report.skipped.map(\.workflowID) == ["f-steps"])
        #expect(report.skipped.first?.code == .quarantined)
    }
}
