// A child process for the crash and lock tests. It does real work on a real data directory
// and is killed with SIGKILL by the test that spawned it.
//
//   durable-test-helper append-loop <dir> <name> <ack-file> <writers> [<records-per-writer>]
//       Appends records "<start>-<writer>:<n>" from <writers> concurrent tasks (forever, or up to
//       the given count, then holds the lease); after each acknowledged append, writes the
//       record's text as a line to <ack-file>.
//   durable-test-helper workflows <dir> <ledger-file> <id>...
//       Launches an engine (recovering pending workflows), starts LedgerWorkflow for each id,
//       waits for every started and recovered workflow and prints "<id> <result>" lines.
//       Environment: KILL_AT, FIRED, STEP_SLEEP_MS (see LedgerWorkflow); MAX_RECOVERY sets
//       maxRecoveryAttempts.
//   durable-test-helper queue-worker <dir> <ledger-file> <queue> <concurrency> <worker-concurrency>
//       Runs queue <queue>'s "ledger-job" workflows until the test is gone; each step appends
//       "B <id> <pid>" and "E <id> <pid>" lines to <ledger-file> around STEP_SLEEP_MS of work.
//       With KILL_AFTER=<n>, the n-th step this process begins appends "K <pid>" and SIGKILLs
//       the process (a crash with other workflows mid-run). Limits of 0 mean none; RATE_LIMIT=
//       "<starts>/<ms>" adds a rate limit. Prints "ready" once launched.
//   durable-test-helper executor <dir> [<queue>...]
//       Runs HelperWorkflows (greet, conversation, long-wait, family) for client tests until
//       the test is gone. Prints "ready" once launched.
//   durable-test-helper primitives <dir> <ledger-file> <id>
//       Runs PrimitivesWorkflow <id> to its end (recovering it if it is pending) and prints its
//       result; KILL_AT and FIRED as for LedgerWorkflow (see PrimitivesWorkflow).
//   durable-test-helper features <dir>
//       Builds a directory whose workflows use every feature the export maps (see runFeatures)
//       and prints their IDs.
//   durable-test-helper dbos-peer <location>
//       Serves workflow py-echo on queue py-q for DBOS Python clients (see DBOSPeerServer).
//   durable-test-helper torture <dir> <seconds> [<workers>]
//       The crash-torture harness (see Torture; tools/torture runs it).
//   durable-test-helper cron <dir> <ledger-file> <start-ms> <horizon-ms>
//       Fires two schedules across DST changes on a fast-forwarding manual clock (see CronWorker).
//   durable-test-helper hold-queue-lock <dir> <queue>
//       Takes queue <queue>'s lock, prints "held" and keeps it until killed.
//   durable-test-helper hold-lease <dir> <name>
//       Opens (or creates) the log, prints "won" and holds the lease until killed; prints
//       "busy" and exits 3 if another process holds it.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DurableLog
import DurablePostgres
import DurableWorkflows
import Logging

@main
struct TestHelper {
    static func main() async throws {
        let arguments = CommandLine.arguments
        if arguments.count >= 3, arguments[1] == "executor" {
            try await runExecutor(directory: arguments[2], queues: Array(arguments.dropFirst(3)))
            return
        }
        if arguments.count >= 4, arguments[1] == "torture", let seconds = Double(arguments[3]) {
            try await Torture.drive(
                directory: arguments[2], seconds: seconds, workers: arguments.count > 4 ? Int(arguments[4]) ?? 3 : 3)
        }
        if arguments.count == 4, arguments[1] == "torture-worker" {
            try await Torture.worker(directory: arguments[2], ledgerPath: arguments[3])
            return
        }
        if arguments.count >= 2, arguments[1] == "replay-verify" {
            await runDurableCommand()
            return
        }
        if arguments.count == 3, arguments[1] == "dbos-peer" {
            try await runDBOSPeer(location: arguments[2])
            return
        }
        if arguments.count == 3, arguments[1] == "features" {
            try await runFeatures(directory: arguments[2])
            return
        }
        guard arguments.count >= 4 else { fail("usage: durable-test-helper append-loop|hold-lease <dir> <name> ...") }
        if arguments[1] == "set-event" {
            try await setEvent(directory: arguments[2], id: arguments[3], delayMilliseconds: Int(arguments[4]) ?? 0)
            return
        }
        if arguments[1] == "queue-worker", arguments.count >= 7, let concurrency = Int(arguments[5]),
            let worker = Int(arguments[6])
        {
            try await runQueueWorker(
                directory: arguments[2], ledgerPath: arguments[3], queue: arguments[4], concurrency: concurrency,
                workerConcurrency: worker)
            return
        }
        if arguments[1] == "cron", arguments.count >= 6, let start = Int64(arguments[4]),
            let horizon = Int64(arguments[5])
        {
            try await runCronWorker(directory: arguments[2], ledgerPath: arguments[3], start: start, horizon: horizon)
            return
        }
        if arguments[1] == "primitives", arguments.count >= 5 {
            try await runPrimitives(directory: arguments[2], ledgerPath: arguments[3], id: arguments[4])
            return
        }
        if arguments[1] == "workflows" {
            try await runWorkflows(
                directory: arguments[2], ledgerPath: arguments[3], ids: Array(arguments.dropFirst(4)))
            return
        }
        if arguments[1] == "store-take" {
            // Creates workflow <id> through the storage protocol, or claims it; prints what
            // happened ("created", "claimed" or "held") and holds the lease until the parent goes.
            let store = try store(at: arguments[2])
            let id = arguments[3]
            var fields = WorkflowFields()
            fields.name = "held"
            fields.status = .pending
            let start = StartRecord(
                name: "held", inputs: "[]", applicationVersion: "1", executorID: "helper", createdAt: 0)
            var lease = try await store.create(id, fields: fields, events: [.started(start)])
            var outcome = "created"
            if lease == nil {
                lease = try await store.claim(id)?.lease
                outcome = lease == nil ? "held" : "claimed"
            }
            print(outcome)
            fflush(stdout)
            if lease != nil { waitForParentToGo() }
            return
        }
        let store = try LogStore.open(directory: arguments[2])
        switch arguments[1] {
        case "append-loop":
            guard arguments.count >= 6, let writers = Int(arguments[5]) else {
                fail("append-loop needs <ack-file> <writers>")
            }
            let limit = arguments.count >= 7 ? Int(arguments[6]) ?? Int.max : Int.max
            try await appendLoop(
                store: store, name: arguments[3], ackPath: arguments[4], writers: writers, limit: limit)
        case "hold-lease":
            try await holdLease(store: store, name: arguments[3])
        case "hold-queue-lock":
            try await store.queueFiles(named: arguments[3]).withLock { _ in
                print("held")
                fflush(stdout)
                waitForParentToGo()
            }
        default:
            fail("unknown command \(arguments[1])")
        }
    }

    /// Idles until the test that spawned this process is gone (it normally kills us first), so an
    /// aborted test run never leaves a helper behind holding a lease or the run's stderr.
    static func waitForParentToGo() -> Never {
        let parent = getppid()
        while getppid() == parent { usleep(100_000) }
        exit(0)
    }

    /// Prints "ready", then keeps `engine` serving until the test that spawned us is gone.
    static func serveUntilParentGoes(_ engine: DurableEngine) async throws {
        print("ready")
        fflush(stdout)
        let parent = getppid()
        while getppid() == parent { try await Task.sleep(for: .milliseconds(100)) }
        await engine.shutdown()
    }

    static func fail(_ message: String) -> Never {
        fputs(message + "\n", stderr)
        exit(64)
    }

    static func runWorkflows(directory: String, ledgerPath: String, ids: [String]) async throws {
        let environment = { (name: String) -> String? in getenv(name).map { String(cString: $0) } }
        let ledger = open(ledgerPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        var configuration = DurableEngine.Configuration(applicationVersion: "crash-test")
        configuration.recoveryInterval = .milliseconds(20)
        configuration.logger.logLevel = .warning
        if let limit = environment("MAX_RECOVERY").flatMap({ Int($0) }) { configuration.maxRecoveryAttempts = limit }
        let engine = try TestHelper.engine(at: directory, configuration)
        engine.register(
            LedgerWorkflow(
                ledger: ledger,
                killPoints: Set((environment("KILL_AT") ?? "").split(separator: ",").map(String.init)),
                firedPath: environment("FIRED"),
                stepSleepMilliseconds: Int(environment("STEP_SLEEP_MS") ?? "0") ?? 0))
        let recovered = try await engine.launch()
        var handles: [WorkflowHandle<Int>] = []
        for id in ids { handles.append(try await engine.start(LedgerWorkflow.self, id, id: id)) }
        for id in recovered where !ids.contains(id) { handles.append(engine.handle(for: id, as: Int.self)) }
        for handle in handles { print("\(handle.workflowID) \(try await handle.result())") }
        fflush(stdout)
        await engine.shutdown()
    }

    /// Runs a workflow that sleeps `delayMilliseconds` (durably) and then sets the event
    /// `ready` to the wall-clock time, in ms, at which it set it.
    static func setEvent(directory: String, id: String, delayMilliseconds: Int) async throws {
        var configuration = DurableEngine.Configuration(applicationVersion: "events")
        configuration.logger.logLevel = .warning
        let engine = try TestHelper.engine(at: directory, configuration)
        engine.register(name: "eventer") { (delay: Int, context: WorkflowContext) -> Int in
            try await context.sleep(for: .milliseconds(delay))
            var ts = timespec()
            clock_gettime(CLOCK_REALTIME, &ts)
            let now = Int(ts.tv_sec) * 1000 + Int(ts.tv_nsec) / 1_000_000
            try await context.setEvent("ready", now)
            return now
        }
        try await engine.launch()
        _ = try await engine.start(name: "eventer", delayMilliseconds, id: id, as: Int.self).result()
        await engine.shutdown()
    }

    /// Whether a helper's location is a database URL rather than a data directory.
    static func isDatabase(_ location: String) -> Bool { location.hasPrefix("postgresql://") }

    /// The store at `location`: a PostgreSQL URL, or a data directory (created if missing).
    static func store(at location: String) throws -> any WorkflowStore {
        isDatabase(location) ? try PostgresWorkflowStore(url: location) : try FileWorkflowStore(directory: location)
    }

    /// An engine on the store at `location`.
    static func engine(at location: String, _ configuration: DurableEngine.Configuration) throws -> DurableEngine {
        DurableEngine(store: try store(at: location), configuration: configuration)
    }

    static func openOrCreate(_ store: LogStore, _ name: String) async throws -> LogWriter {
        var fields = IndexFields()
        fields.name = "helper"
        fields.status = .pending
        let created: Result<LogWriter, StorageError> = await {
            do throws(StorageError) { return .success(try await store.createLog(name: name, fields: fields)) } catch {
                return .failure(error)
            }
        }()
        switch created {
        case .success(let writer): return writer
        case .failure(let error) where error.code == .alreadyExists: return try await store.openLog(name: name).writer
        case .failure(let error): throw error
        }
    }

    static func appendLoop(store: LogStore, name: String, ackPath: String, writers: Int, limit: Int) async throws {
        let ackFD = open(ackPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        let log = try await openOrCreate(store, name)
        let start = log.lastSeq
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    try await appendLoop(log: log, label: "\(start)-\(writer)", ackFD: ackFD, limit: limit)
                }
            }
            try await group.waitForAll()
        }
        withExtendedLifetime(log) { waitForParentToGo() }
    }

    static func appendLoop(log: LogWriter, label: String, ackFD: Int32, limit: Int) async throws {
        var n = 0
        while n < limit {
            if getppid() == 1 { exit(0) }  // orphaned: the test that spawned us is gone
            let text = "\(label):\(n)"
            // Sizes vary so that some writes span several pages and can tear.
            let padding = [UInt8](repeating: UInt8(ascii: "x"), count: (n * 37) % 9000)
            try await log.append(
                RecordDraft(type: RecordType(rawValue: 0x10), payload: Array(text.utf8) + [0] + padding))
            let line = Array((text + "\n").utf8)
            _ = line.withUnsafeBytes { write(ackFD, $0.baseAddress, $0.count) }
            n += 1
        }
    }

    static func holdLease(store: LogStore, name: String) async throws {
        let writer: LogWriter
        do {
            writer = try await openOrCreate(store, name)
        } catch let error as StorageError where error.code == .leaseHeld {
            print("busy")
            exit(3)
        }
        print("won")
        fflush(stdout)
        // The lease lives exactly as long as the writer.
        withExtendedLifetime(writer) { waitForParentToGo() }
    }
}
