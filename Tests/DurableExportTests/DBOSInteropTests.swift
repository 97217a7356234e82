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
        try Interop.run(
            helper, ["workflows", directory.data, ledger, "queued-1"],
            environment: ["KILL_AT": "queued-1:2:ack", "FIRED": fired])
        _ = try Interop.durable(["cancel", "--dir", directory.data, "queued-1"])
        try Interop.run(
            helper, ["workflows", directory.data, ledger, "pending-1"],
            environment: ["KILL_AT": "pending-1:3:ack", "FIRED": fired])
        _ = try Interop.durable(["resume", "--dir", directory.data, "queued-1"])
        return directory.data
    }

    func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    @Test func aDBOSAppResumesExportedPendingAndEnqueuedWorkflowsWithoutRerunningCompletedSteps() throws {
        let temp = TemporaryDirectory()
        let data = try interruptedWorkflows(in: temp)
        let statuses = try Interop.durable(["list", "--dir", data, "--json"]).split(separator: "\n").map {
            try json(String($0)) as! [String: Any]
        }
        #expect(
            Set(statuses.map { "\($0["workflowID"]!)=\($0["status"]!)" }) == ["pending-1=PENDING", "queued-1=ENQUEUED"])
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
        _ = FileManager.default.createFile(atPath: ledger, contents: nil)
        let (status, out, err) = try Interop.run(
            Interop.python!,
            [
                Interop.root + "/tools/interop/dbos_resume.py", pg.url("resume"), executor, "crash-test", ledger,
                "_dbos_internal_queue", "pending-1", "queued-1",
            ])
        #expect(status == 0, "\(err)")
        let results =
            try json(String(out.split(separator: "\n").first { $0.hasPrefix("{") } ?? "{}")) as? [String: [Any]]
        #expect(results?["pending-1"]?.first as? String == "SUCCESS")
        #expect(results?["pending-1"]?.last as? Int == 55)
        #expect(results?["queued-1"]?.last as? Int == 55)
        let ran = try String(contentsOfFile: ledger, encoding: .utf8).split(separator: "\n").map(String.init).sorted()
        #expect(ran == ["run pending-1 4", "run pending-1 5", "run queued-1 3", "run queued-1 4", "run queued-1 5"])
    }

    /// Every feature the export maps, in one directory: the helper's `features` fixture, a
    /// workflow that ran out of recovery attempts, and the interrupted PENDING and ENQUEUED pair.
    func everyFeatureDirectory(in directory: TemporaryDirectory) throws -> String {
        let helper = builtExecutable("DurableTestHelper")
        let (status, _, err) = try Interop.run(helper, ["features", directory.data])
        guard status == 0 else { throw InteropError("features fixture failed: \(err)") }
        let ledger = directory.path + "/ledger", fired = directory.path + "/fired"
        try Interop.run(
            helper, ["workflows", directory.data, ledger, "maxed-1"],
            environment: ["KILL_AT": "maxed-1:2:ack", "FIRED": fired])
        try Interop.run(helper, ["workflows", directory.data, ledger], environment: ["MAX_RECOVERY": "0"])
        return try interruptedWorkflows(in: directory)
    }

    /// Operations DBOS records without an output (the Export article's mapping table).
    static let withoutOutput: Set<String> = ["send", "setEvent", "writeStream", "closeStream", "child"]

    @Test func dbosReadsEveryFeatureExactlyAsDurableReportsIt() throws {
        let temp = TemporaryDirectory()
        let data = try everyFeatureDirectory(in: temp)
        let ours = try Interop.durable(["list", "--dir", data, "--json"]).split(separator: "\n").map {
            try object(String($0))
        }
        #expect(
            Set(ours.map { $0["status"] as! String }) == [
                "SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED", "PENDING", "ENQUEUED", "DELAYED",
            ])

        let pg = try ThrowawayPostgres()
        try pg.createDatabase("features")
        let script = temp.path + "/export.sql"
        _ = try Interop.durable(["export", "--dir", data, "--create-schema", "-o", script])
        try pg.psql("features", ["-f", script])
        let counts =
            "SELECT "
            + [
                "workflow_status", "workflow_input", "workflow_output", "operation_outputs", "notifications",
                "workflow_events", "workflow_events_history", "streams", "queues", "workflow_schedules",
                "application_versions",
            ].map { "(SELECT count(*) FROM dbos.\($0))" }.joined(separator: " || ',' || ")
        let once = try pg.query("features", counts)
        try pg.psql("features", ["-f", script])
        #expect(try pg.query("features", counts) == once, "a second load duplicated rows")

        try expectDBOSReads(ours, as: ["--dir", data], database: pg.url("features"), pg: pg, in: temp)
    }

    @Test func dbosReadsEveryFeatureALiveSwiftExecutorRecordedOnPostgreSQL() throws {
        let temp = TemporaryDirectory()
        let pg = try ThrowawayPostgres()
        try pg.createDatabase("live")
        let url = pg.url("live")
        let helper = builtExecutable("DurableTestHelper")
        let (status, _, err) = try Interop.run(helper, ["features", url])
        try #require(status == 0, "features fixture on PostgreSQL failed: \(err)")
        let ours = try Interop.durable(["list", "--database-url", url, "--json"]).split(separator: "\n").map {
            try object(String($0))
        }
        #expect(
            Set(ours.map { $0["status"] as! String }) == [
                "SUCCESS", "ERROR", "CANCELLED", "PENDING", "ENQUEUED", "DELAYED",
            ])
        try expectDBOSReads(ours, as: ["--database-url", url], database: url, pg: pg, in: temp)
    }

    /// DBOS Python (its client and its CLI) reads every workflow of `ours` in `database` exactly as
    /// `durable` reports it from `location` (its `--dir` or `--database-url` arguments).
    func expectDBOSReads(
        _ ours: [[String: Any]], as location: [String], database: String, pg: ThrowawayPostgres,
        in temp: TemporaryDirectory
    ) throws {
        let ids = ours.map { $0["workflowID"] as! String }
        let name = String(database.split(separator: "/").last!)
        var steps: [String: [[String: Any]]] = [:]
        var events: [String: [String]] = [:], streams: [String: [String]] = [:]
        for id in ids {
            steps[id] = try Interop.durable(["steps"] + location + [id, "--json"]).split(separator: "\n").map {
                try object(String($0))
            }
            let keys = try object(try Interop.durable(["events"] + location + [id, "--json"])).keys.sorted()
            if !keys.isEmpty { events[id] = keys }
            let streamed = Set(
                steps[id]!.filter { ["writeStream", "closeStream"].contains($0["kind"] as! String) }.map {
                    $0["key"] as! String
                })
            if !streamed.isEmpty { streams[id] = streamed.sorted() }
        }
        #expect(steps.values.contains { $0.contains { $0["kind"] as? String == "getEvent" } })
        #expect(steps.values.contains { $0.contains { ($0["attempts"] as? Int ?? 0) > 1 } })
        #expect(
            ours.contains {
                !($0["name"] as! String).isEmpty && ($0["workflowID"] as! String).hasPrefix("sched-features-cron-")
            })
        let spec = temp.path + "/spec.json"
        try JSONSerialization.data(withJSONObject: ["ids": ids, "events": events, "streams": streams]).write(
            to: URL(fileURLWithPath: spec))
        let (status, out, err) = try Interop.run(
            Interop.python!, [Interop.root + "/tools/interop/dbos_read.py", database, spec])
        try #require(status == 0, "\(err)")
        let seen = try object(out)
        let listed = Dictionary(
            uniqueKeysWithValues: (seen["list"] as! [[String: Any]]).map { ($0["workflowID"] as! String, $0) })
        let cliListed = Dictionary(
            uniqueKeysWithValues: ((seen["cli"] as! [String: Any])["list"] as! [[String: Any]]).map {
                ($0["workflow_id"] as! String, $0)
            })
        let cliGot = (seen["cli"] as! [String: Any])["get"] as! [String: [String: Any]]
        let cliSteps = (seen["cli"] as! [String: Any])["steps"] as! [String: [[String: Any]]]
        let workflows = seen["workflows"] as! [String: [String: Any]]
        #expect(Set(listed.keys) == Set(ids))
        #expect(Set(cliListed.keys) == Set(ids))

        // durable's field, DBOS's column (the CLI's JSON keys)
        let fields = [
            ("name", "name"), ("status", "status"), ("applicationVersion", "app_version"),
            ("executorID", "executor_id"),
            ("createdAt", "created_at"), ("updatedAt", "updated_at"), ("recoveryAttempts", "recovery_attempts"),
            ("queueName", "queue_name"), ("priority", "priority"), ("deduplicationID", "deduplication_id"),
            ("partitionKey", "queue_partition_key"), ("delayUntil", "delay_until_epoch_ms"),
            ("timeoutMilliseconds", "workflow_timeout_ms"), ("deadline", "workflow_deadline_epoch_ms"),
            ("forkedFrom", "forked_from"), ("parentWorkflowID", "parent_workflow_id"),
        ]
        for id in ids {
            let mine = try object(try Interop.durable(["inspect"] + location + [id, "--json"]))
            let client = try #require(listed[id]), listedByCLI = try #require(cliListed[id]),
                got = try #require(cliGot[id])
            let workflow = try #require(workflows[id])
            for (ourKey, column) in fields {
                #expect(canonical(client[ourKey]) == canonical(mine[ourKey]), "\(id) \(ourKey): DBOSClient")
                #expect(
                    canonical(listedByCLI[column]) == canonical(mine[ourKey]), "\(id) \(column): dbos workflow list")
                #expect(canonical(got[column]) == canonical(mine[ourKey]), "\(id) \(column): dbos workflow get")
            }
            let positional = (try object(mine["inputs"] as! String))["positionalArgs"]
            #expect(canonical((workflow["input"] as? [String: Any])?["args"]) == canonical(positional), "\(id) input")
            #expect(
                canonical((got["input"] as? [String: Any])?["args"]) == canonical(positional),
                "\(id) input: dbos workflow get")
            let output =
                (mine["output"] as? String).map {
                    try? JSONSerialization.jsonObject(with: Data($0.utf8), options: .fragmentsAllowed)
                } ?? nil
            if mine["status"] as? String == "SUCCESS" {
                #expect(canonical(workflow["result"]) == canonical(output), "\(id) get_result()")
                #expect(canonical(got["output"]) == canonical(output), "\(id) output: dbos workflow get")
            }
            if let error = mine["error"] as? [String: Any], mine["status"] as? String == "ERROR" {
                let raised = workflow["error"] as? [String: Any]
                #expect(raised?["name"] as? String == error["name"] as? String, "\(id) error name")
                #expect(raised?["message"] as? String == error["message"] as? String, "\(id) error message")
                #expect(got["error"] as? String == error["message"] as? String, "\(id) error: dbos workflow get")
            }
            let theirSteps = workflow["steps"] as! [[String: Any]], theirCLISteps = try #require(cliSteps[id])
            #expect(theirSteps.count == steps[id]!.count, "\(id) steps: DBOSClient")
            #expect(theirCLISteps.count == steps[id]!.count, "\(id) steps: dbos workflow steps")
            for (index, step) in steps[id]!.enumerated() where index < min(theirSteps.count, theirCLISteps.count) {
                let client = theirSteps[index], cli = theirCLISteps[index]
                let expected: Any? =
                    Self.withoutOutput.contains(step["kind"] as! String) || step["error"] is [String: Any]
                    ? nil
                    : try JSONSerialization.jsonObject(
                        with: Data((step["output"] as! String).utf8), options: .fragmentsAllowed)
                let label = "\(id) #\(step["functionID"]!) \(step["name"]!)"
                for (ours, client, cli) in [
                    ("functionID", "functionID", "function_id"), ("name", "name", "function_name"),
                    ("childWorkflowID", "childWorkflowID", "child_workflow_id"),
                    ("startedAt", "startedAt", "started_at_epoch_ms"),
                    ("completedAt", "completedAt", "completed_at_epoch_ms"),
                ] {
                    #expect(canonical(theirSteps[index][client]) == canonical(step[ours]), "\(label) \(ours)")
                    #expect(canonical(theirCLISteps[index][cli]) == canonical(step[ours]), "\(label) \(cli): CLI")
                }
                #expect(canonical(client["output"]) == canonical(expected), "\(label) output")
                #expect(canonical(cli["output"]) == canonical(expected), "\(label) output: CLI")
                let error = step["error"] as? [String: Any]
                #expect(
                    (client["error"] as? [String: Any])?["name"] as? String == error?["name"] as? String,
                    "\(label) error")
                #expect(
                    (client["error"] as? [String: Any])?["message"] as? String == error?["message"] as? String,
                    "\(label) error")
                #expect(cli["error"] as? String == error?["message"] as? String, "\(label) error: CLI")
            }
            if events[id] != nil {
                let latest = try JSONSerialization.jsonObject(
                    with: Data(try Interop.durable(["events"] + location + [id, "--json"]).utf8))
                #expect(canonical(workflow["events"]) == canonical(latest), "\(id) get_event")
                let history = try JSONSerialization.jsonObject(
                    with: Data(try Interop.durable(["events"] + location + [id, "--history", "--json"]).utf8))
                let stored = try pg.query(
                    name,
                    """
                    SELECT json_agg(json_build_object('functionID', function_id, 'key', key, 'value', value::json) ORDER BY function_id, key)
                    FROM dbos.workflow_events_history WHERE workflow_uuid = \(sqlLiteral(id))
                    """
                ).joined()
                #expect(
                    canonical(try JSONSerialization.jsonObject(with: Data(stored.utf8))) == canonical(history),
                    "\(id) event history")
            }
            for key in streams[id] ?? [] {
                let items = try Interop.durable(["stream"] + location + [id, key]).split(separator: "\n").map {
                    try JSONSerialization.jsonObject(with: Data($0.utf8), options: .fragmentsAllowed)
                }
                #expect(
                    canonical((workflow["streams"] as? [String: Any])?[key]) == canonical(items),
                    "\(id) read_stream \(key)")
            }
        }

        let queues =
            try JSONSerialization.jsonObject(with: Data(try Interop.durable(["queues"] + location + ["--json"]).utf8))
            as! [[String: Any]]
        let declared = queues.filter { $0["concurrency"] is Int || $0["rateLimit"] is Int }
        #expect(
            canonical((seen["queues"] as! [[String: Any]]))
                == canonical(
                    declared.map { q in
                        ["name", "concurrency", "workerConcurrency", "rateLimit", "rateLimitPeriodMs"].reduce(
                            into: [String: Any]()
                        ) { $0[$1] = q[$1] ?? NSNull() }
                    }), "queues")
        let schedules =
            try JSONSerialization.jsonObject(
                with: Data(try Interop.durable(["schedules"] + location + ["--json"]).utf8)) as! [[String: Any]]
        let theirSchedules = seen["schedules"] as! [[String: Any]]
        #expect(theirSchedules.count == schedules.count)
        for (a, b) in zip(schedules, theirSchedules) {
            for key in ["name", "cron", "timeZone", "workflow", "queue", "paused"] {
                #expect(canonical(a[key]) == canonical(b[key]), "schedule \(key)")
            }
            let fired = (a["lastFiredAt"] as! Int) / 1000
            #expect(
                b["lastFiredAt"] as? String
                    == ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(fired)))
                    .replacingOccurrences(of: "Z", with: "+00:00"))
        }
        #expect(Set(seen["versions"] as! [String]) == Set(ours.compactMap { $0["applicationVersion"] as? String }))
        let newest = ours.filter { $0["applicationVersion"] is String }.max {
            ($0["createdAt"] as! Int) < ($1["createdAt"] as! Int)
        }
        #expect(seen["latestVersion"] as? String == newest?["applicationVersion"] as? String)
    }

    func sqlLiteral(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    @Test func hostileIDsRoundTripExactlyAndCannotInjectSQL() throws {
        let temp = TemporaryDirectory()
        let hostile = [
            "x'); DROP TABLE dbos.workflow_status; --", "back\\slash\ttab\nnew line\r$$ \\. end", "\\.",
            "ünïcødé 🚀 \"quoted\"",
            String(repeating: "long-", count: 2000),
        ]
        try Interop.run(
            builtExecutable("DurableTestHelper"), ["workflows", temp.data, temp.path + "/ledger"] + hostile)
        let pg = try ThrowawayPostgres()
        try pg.createDatabase("hostile")
        let script = temp.path + "/export.sql"
        _ = try Interop.durable([
            "export", "--dir", temp.data, "--create-schema", "--schema", "swift \"durable\"", "-o", script,
        ])
        try pg.psql("hostile", ["-f", script])
        let stored = try pg.psql(
            "hostile",
            [
                "-At", "-c",
                #"SELECT string_agg(encode(convert_to(workflow_uuid, 'UTF8'), 'hex'), ',' ORDER BY workflow_uuid) FROM "swift ""durable""".workflow_status"#,
            ])
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
        #expect(
            try pg.query("hostile", #"SELECT count(*) FROM "swift ""durable""".operation_outputs"#) == [
                "\(5 * hostile.count)"
            ])
    }

    @Test func aReExportAdvancesWhatProgressedAndNeverRollsBackWhatDBOSAdvanced() throws {
        let temp = TemporaryDirectory()
        let data = try interruptedWorkflows(in: temp)
        let pg = try ThrowawayPostgres()
        try pg.createDatabase("incremental")
        let early = temp.path + "/early.sql", late = temp.path + "/late.sql"
        _ = try Interop.durable(["export", "--dir", data, "--create-schema", "-o", early])
        try pg.psql("incremental", ["-f", early])
        let state =
            "SELECT w.workflow_uuid || '=' || w.status || ':' || (SELECT count(*) FROM dbos.operation_outputs o WHERE o.workflow_uuid = w.workflow_uuid) FROM dbos.workflow_status w ORDER BY 1"
        #expect(try pg.query("incremental", state) == ["pending-1=PENDING:3", "queued-1=ENQUEUED:2"])

        // DBOS cancels the enqueued workflow; loading the earlier export again does not undo it.
        let dbos = URL(fileURLWithPath: Interop.python!).deletingLastPathComponent().appendingPathComponent("dbos").path
        let (cancelled, _, cancelError) = try Interop.run(
            dbos, ["workflow", "cancel", "-s", pg.url("incremental"), "queued-1"])
        try #require(cancelled == 0, "\(cancelError)")
        try pg.psql("incremental", ["-f", early])
        #expect(try pg.query("incremental", state) == ["pending-1=PENDING:3", "queued-1=CANCELLED:2"])

        // The Swift side goes on: both finish there, later than DBOS's cancel, and a new export wins.
        try Interop.run(builtExecutable("DurableTestHelper"), ["workflows", data, temp.path + "/ledger", "queued-1"])
        _ = try Interop.durable(["export", "--dir", data, "-o", late])
        try pg.psql("incremental", ["-f", late])
        try pg.psql("incremental", ["-f", late])
        #expect(try pg.query("incremental", state) == ["pending-1=SUCCESS:5", "queued-1=SUCCESS:5"])
        #expect(try pg.query("incremental", "SELECT count(*) FROM dbos.workflow_output") == ["2"])
    }

    @Test func exportedApplicationVersionsNeverDemoteAVersionTheDatabaseRegistered() throws {
        let temp = TemporaryDirectory()
        let helper = builtExecutable("DurableTestHelper")
        try Interop.run(helper, ["workflows", temp.data, temp.path + "/ledger", "v-1"])
        let pg = try ThrowawayPostgres()
        try pg.createDatabase("versions")
        let script = temp.path + "/export.sql"
        _ = try Interop.durable(["export", "--dir", temp.data, "--create-schema", "-o", script])
        try pg.psql("versions", ["-f", script])
        let registry =
            "SELECT string_agg(version_name || ' ' || version_id || ' ' || version_timestamp, ',' ORDER BY version_name) FROM dbos.application_versions"
        let first = try pg.query("versions", registry)
        #expect(first.first?.hasPrefix("crash-test ") == true)
        // A DBOS app of another version launches: its row is the newest.
        try pg.psql(
            "versions",
            [
                "-c",
                """
                INSERT INTO dbos.application_versions (version_id, version_name, version_timestamp, created_at)
                VALUES (gen_random_uuid()::text, 'py-v9', (extract(epoch FROM now()) * 1000)::bigint, (extract(epoch FROM now()) * 1000)::bigint)
                """,
            ])
        // More Swift workflows, of a newer version, exported again.
        let (status, _, err) = try Interop.run(helper, ["features", temp.data])
        try #require(status == 0, "\(err)")
        _ = try Interop.durable(["export", "--dir", temp.data, "-o", script])
        try pg.psql("versions", ["-f", script])
        let latest = "SELECT version_name FROM dbos.application_versions ORDER BY version_timestamp DESC LIMIT 1"
        #expect(try pg.query("versions", latest) == ["py-v9"])
        let rows = try pg.query("versions", registry).joined().split(separator: ",").map(String.init)
        #expect(rows.map { $0.split(separator: " ")[0] } == ["crash-test", "features", "py-v9"])
        #expect(rows.first == first.first, "a registered version is neither re-identified nor retimed")
    }

    @Test func aLoadThatFailsLeavesTheDatabaseAsItWas() throws {
        let temp = TemporaryDirectory()
        try Interop.run(
            builtExecutable("DurableTestHelper"), ["workflows", temp.data, temp.path + "/ledger", "a-1", "a-2"])
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

/// DBOS Python and a Swift executor on one live database.
@Suite("DBOS Python beside a Swift executor on PostgreSQL", .enabled(if: Interop.enabled), .timeLimit(.minutes(3)))
struct LiveDBOSInteropTests {
    @Test func pythonEnqueuesASwiftWorkflowByNameSendsItAMessageAndReadsItsResult() async throws {
        let pg = try ThrowawayPostgres()
        try pg.createDatabase("peer")
        let url = pg.url("peer")
        let executor = try ChildProcess("DurableTestHelper", ["dbos-peer", url])
        defer { executor.kill() }
        #expect(executor.firstLine() == "ready")
        let (status, out, err) = try Interop.run(
            Interop.python!, [Interop.root + "/tools/interop/dbos_client_calls.py", url])
        try #require(status == 0, "\(err)")
        let seen = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
        #expect(seen["result"] as? String == "HELLO:world", "\(seen)")
        #expect(seen["status"] as? String == "SUCCESS")
        #expect((seen["executor"] as? String)?.hasPrefix("executor-") == true, "a Swift executor ran it: \(seen)")
        #expect(seen["version"] as? String == "py-interop")
        let steps = seen["steps"] as? [String] ?? []
        #expect(steps.first == "shout" && steps.contains("DBOS.recv"), "\(seen)")
        #expect(seen["otherStatus"] as? String == "ENQUEUED", "another application's workflow is left alone")
        // The message sent twice with one idempotency key arrived once.
        #expect(
            try pg.query("peer", "SELECT count(*) FROM dbos.notifications WHERE destination_uuid = 'py-1'") == ["1"])
        let listed = try Interop.durable(["list", "--database-url", url])
        #expect(listed.contains("py-1") && listed.contains("SUCCESS"))
    }

    @Test func pythonCancelsAndResumesASwiftWorkflowThatASwiftExecutorRuns() async throws {
        let pg = try ThrowawayPostgres()
        try pg.createDatabase("control")
        let url = pg.url("control")
        let executor = try ChildProcess("DurableTestHelper", ["dbos-peer", url])
        defer { executor.kill() }
        #expect(executor.firstLine() == "ready")
        let (status, out, err) = try Interop.run(
            Interop.python!, [Interop.root + "/tools/interop/dbos_cancel_resume.py", url])
        try #require(status == 0, "\(err)")
        let seen = try object(out)
        #expect(seen["running"] as? String == "PENDING", "\(seen)")
        #expect(seen["cancelled"] as? String == "CANCELLED", "\(seen)")
        #expect((seen["cancelledResult"] as? String)?.contains("Cancelled") == true, "\(seen)")
        #expect(seen["resumed"] as? String == "PENDING", "\(seen)")
        #expect(seen["result"] as? String == "CANCEL ME:again", "\(seen)")
        #expect(seen["final"] as? String == "SUCCESS")
        // The journal says what happened: the step once, the cancel's end, the resume, the end.
        let kinds = try pg.query(
            "control",
            "SELECT string_agg(kind, ',' ORDER BY seq) FROM dbos.durable_events WHERE workflow_uuid = 'py-c' AND kind IN ('operation', 'ended', 'resumed')"
        )
        #expect(kinds.first?.contains(",ended,resumed,") == true, "\(kinds)")
        #expect(kinds.first?.hasSuffix(",ended") == true, "\(kinds)")
        #expect(
            try pg.query(
                "control",
                "SELECT count(*) FROM dbos.operation_outputs WHERE workflow_uuid = 'py-c' AND function_name = 'shout'")
                == ["1"])
    }

    @Test func swiftReadsADBOSPythonAppsWorkflowsAndItsExecutorLeavesThemAlone() async throws {
        let pg = try ThrowawayPostgres()
        try pg.createDatabase("shared")
        let url = pg.url("shared")
        let executor = try ChildProcess("DurableTestHelper", ["dbos-peer", url])
        defer { executor.kill() }
        #expect(executor.firstLine() == "ready")
        let (status, out, err) = try Interop.run(
            Interop.python!, [Interop.root + "/tools/interop/dbos_app_workflows.py", url])
        try #require(status == 0, "\(err)")
        #expect(out.contains("\"pickled\": 8"), "\(out)")
        let listed = try Interop.durable(["list", "--database-url", url, "--json"]).split(separator: "\n").map {
            try object(String($0))
        }
        let native = try #require(listed.first { $0["workflowID"] as? String == "py-native-1" })
        #expect(native["name"] as? String == "py_native" && native["status"] as? String == "SUCCESS")
        #expect(native["applicationVersion"] as? String == "py-v1")
        let steps = try Interop.durable(["steps", "--database-url", url, "py-native-1", "--json"]).split(
            separator: "\n"
        ).map { try object(String($0)) }
        #expect(steps.map { $0["name"] as? String } == ["double", "describe"])
        // DBOS 3.4 pickles step outputs even in a portable workflow: shown as such, not garbled.
        #expect(steps.map { $0["output"] as? String } == Array(repeating: "\"<py_pickle payload>\"", count: 2))
        let inspected = try object(try Interop.durable(["inspect", "--database-url", url, "py-native-1", "--json"]))
        #expect(canonical(try object(inspected["output"] as! String)) == canonical(["text": "alice=42", "n": 42]))
        #expect(
            listed.contains { $0["workflowID"] as? String == "py-pickled-1" && $0["status"] as? String == "SUCCESS" })
        // The Swift executor ran none of them: each was executed once, by py-app.
        #expect(
            try pg.query(
                "shared",
                "SELECT workflow_uuid || '=' || recovery_attempts || ':' || application_name FROM dbos.workflow_status WHERE workflow_uuid LIKE 'py-%' ORDER BY 1"
            ) == ["py-native-1=1:py-app", "py-pickled-1=1:py-app"])
    }
}

/// `text` as a JSON object.
func object(_ text: String) throws -> [String: Any] {
    guard let value = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        throw InteropError("not a JSON object: \(text)")
    }
    return value
}

/// One spelling of a JSON value (sorted keys), so values from two sources compare equal.
func canonical(_ value: Any?) -> String {
    guard let value, !(value is NSNull) else { return "null" }
    guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
    else { return "\(value)" }
    return String(decoding: data, as: UTF8.self)
}
