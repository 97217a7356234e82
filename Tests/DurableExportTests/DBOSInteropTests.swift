import DurableTesting
import Foundation
import Testing

/// Exports real data directories, loads them into a real PostgreSQL with psql, and reads and
/// resumes them with the real DBOS Python 3.4.0.
@Suite("Export into DBOS", .serialized, .enabled(if: Interop.enabled), .timeLimit(.minutes(3)))
struct DBOSInteropTests {
    /// Builds `pending-1` (PENDING, killed with SIGKILL after step 3) and `queued-1` (2 steps,
    /// cancelled, then resumed with no executor: ENQUEUED on the internal queue).
    func interruptedWorkflows(in directory: TemporaryDirectory) throws -> String {
        let helper = builtExecutable("DurableTestHelper")
        let fired = directory.path + "/fired", ledger = directory.path + "/ledger"
        try Interop.run(helper, ["workflows", directory.data, ledger, "queued-1"], environment: ["KILL_AT": "queued-1:2:ack", "FIRED": fired])
        _ = try Interop.durable(["cancel", "--dir", directory.data, "queued-1"])
        try Interop.run(helper, ["workflows", directory.data, ledger, "pending-1"], environment: ["KILL_AT": "pending-1:3:ack", "FIRED": fired])
        _ = try Interop.durable(["resume", "--dir", directory.data, "queued-1"])
        return directory.data
    }

    func json(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) }

    @Test func aDBOSAppResumesExportedPendingAndEnqueuedWorkflowsWithoutRerunningCompletedSteps() throws {
        let temp = TemporaryDirectory()
        let data = try interruptedWorkflows(in: temp)
        let statuses = try Interop.durable(["list", "--dir", data, "--json"]).split(separator: "\n").map { try json(String($0)) as! [String: Any] }
        #expect(Set(statuses.map { "\($0["workflowID"]!)=\($0["status"]!)" }) == ["pending-1=PENDING", "queued-1=ENQUEUED"])
        let executor = statuses.first { $0["workflowID"] as? String == "pending-1" }!["executorID"] as! String

        let pg = try ThrowawayPostgres()
        try pg.createDatabase("resume")
        let script = temp.path + "/export.sql"
        _ = try Interop.durable(["export", "--dir", data, "--create-schema", "-o", script])
        try pg.psql("resume", ["-f", script])
        try pg.psql("resume", ["-f", script])  // a second load changes nothing and duplicates nothing
        #expect(try pg.query("resume", "SELECT count(*) FROM dbos.workflow_status") == ["2"])
        #expect(try pg.query("resume", "SELECT count(*) FROM dbos.operation_outputs") == ["5"])

        let ledger = temp.path + "/dbos-ledger"
        FileManager.default.createFile(atPath: ledger, contents: nil)
        let (status, out, err) = try Interop.run(
            Interop.python!, [Interop.root + "/tools/interop/dbos_resume.py", pg.url("resume"), executor, "crash-test", ledger,
                              "_dbos_internal_queue", "pending-1", "queued-1"])
        #expect(status == 0, "\(err)")
        let results = try json(String(out.split(separator: "\n").first { $0.hasPrefix("{") } ?? "{}")) as? [String: [Any]]
        #expect(results?["pending-1"]?.first as? String == "SUCCESS")
        #expect(results?["pending-1"]?.last as? Int == 55)
        #expect(results?["queued-1"]?.last as? Int == 55)
        let ran = try String(contentsOfFile: ledger, encoding: .utf8).split(separator: "\n").map(String.init).sorted()
        #expect(ran == ["run pending-1 4", "run pending-1 5", "run queued-1 3", "run queued-1 4", "run queued-1 5"])
    }

    @Test func dbosReadsExactlyWhatDurableReports() throws {
        let temp = TemporaryDirectory()
        let data = try interruptedWorkflows(in: temp)
        let helper = builtExecutable("DurableTestHelper")
        try Interop.run(helper, ["workflows", data, temp.path + "/ledger", "done-1"])
        let pg = try ThrowawayPostgres()
        try pg.createDatabase("readback")
        let script = temp.path + "/export.sql"
        _ = try Interop.durable(["export", "--dir", data, "--create-schema", "-o", script])
        try pg.psql("readback", ["-f", script])
        let ids = ["done-1", "pending-1", "queued-1"]
        let (status, out, err) = try Interop.run(Interop.python!, [Interop.root + "/tools/interop/dbos_read.py", pg.url("readback")] + ids)
        #expect(status == 0, "\(err)")
        let seen = try json(out) as! [String: Any]
        let listed = Dictionary(uniqueKeysWithValues: (seen["list"] as! [[String: Any]]).map { ($0["workflowID"] as! String, $0) })
        let workflows = seen["workflows"] as! [String: [String: Any]]
        for id in ids {
            let ours = try json(try Interop.durable(["inspect", "--dir", data, id, "--json"])) as! [String: Any]
            let theirs = try #require(listed[id])
            for key in ["name", "status", "applicationVersion", "executorID", "createdAt", "updatedAt", "recoveryAttempts"] {
                #expect("\(theirs[key]!)" == "\(ours[key]!)", "\(id) \(key)")
            }
            let ourSteps = try Interop.durable(["steps", "--dir", data, id, "--json"]).split(separator: "\n").map { try json(String($0)) as! [String: Any] }
            let theirSteps = workflows[id]!["steps"] as! [[String: Any]]
            #expect(ourSteps.count == theirSteps.count, "\(id) steps")
            for (a, b) in zip(ourSteps, theirSteps) {
                #expect("\(a["functionID"]!)" == "\(b["functionID"]!)")
                #expect(a["name"] as? String == b["name"] as? String)
                #expect("\(try json(a["output"] as! String))" == "\(b["output"]!)")
            }
            let input = workflows[id]!["input"] as! [String: Any]
            #expect((input["args"] as? [String]) == [id])
        }
        #expect(workflows["done-1"]?["result"] as? Int == 55)
    }

    @Test func hostileIDsRoundTripExactlyAndCannotInjectSQL() throws {
        let temp = TemporaryDirectory()
        let hostile = [
            "x'); DROP TABLE dbos.workflow_status; --", "back\\slash\ttab\nnew line\r$$ \\. end", "\\.", "ünïcødé 🚀 \"quoted\"",
            String(repeating: "long-", count: 2000),
        ]
        try Interop.run(builtExecutable("DurableTestHelper"), ["workflows", temp.data, temp.path + "/ledger"] + hostile)
        let pg = try ThrowawayPostgres()
        try pg.createDatabase("hostile")
        let script = temp.path + "/export.sql"
        _ = try Interop.durable(["export", "--dir", temp.data, "--create-schema", "--schema", "swift \"durable\"", "-o", script])
        try pg.psql("hostile", ["-f", script])
        let stored = try pg.psql("hostile", ["-At", "-c", #"SELECT string_agg(encode(convert_to(workflow_uuid, 'UTF8'), 'hex'), ',' ORDER BY workflow_uuid) FROM "swift ""durable""".workflow_status"#])
        let ids = stored.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").map { hex -> String in
            var bytes: [UInt8] = []
            var i = hex.startIndex
            while i < hex.endIndex {
                let j = hex.index(i, offsetBy: 2)
                bytes.append(UInt8(hex[i..<j], radix: 16)!)
                i = j
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        #expect(Set(ids) == Set(hostile))
        #expect(try pg.query("hostile", #"SELECT count(*) FROM "swift ""durable""".operation_outputs"#) == ["\(5 * hostile.count)"])
    }

    @Test func aLoadThatFailsLeavesTheDatabaseAsItWas() throws {
        let temp = TemporaryDirectory()
        try Interop.run(builtExecutable("DurableTestHelper"), ["workflows", temp.data, temp.path + "/ledger", "a-1", "a-2"])
        let pg = try ThrowawayPostgres()
        try pg.createDatabase("atomic")
        let script = temp.path + "/export.sql"
        _ = try Interop.durable(["export", "--dir", temp.data, "--create-schema", "-o", script])
        var text = try String(contentsOfFile: script, encoding: .utf8)
        text = text.replacingOccurrences(of: "COMMIT;", with: "SELECT 1/0;\nCOMMIT;")
        try text.write(toFile: script, atomically: true, encoding: .utf8)
        #expect(throws: InteropError.self) { try pg.psql("atomic", ["-f", script]) }
        #expect(try pg.query("atomic", "SELECT count(*) FROM pg_tables WHERE schemaname = 'dbos'") == ["0"])
        // Without --create-schema the script refuses a database with no DBOS schema, naming it.
        _ = try Interop.durable(["export", "--dir", temp.data, "-o", script])
        #expect { try pg.psql("atomic", ["-f", script]) } throws: { "\($0)".contains("no DBOS system schema") }
    }
}
