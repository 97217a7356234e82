#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DurableLog
import DurableStorage
import DurableWorkflows
import Foundation
import Logging

/// The crash-torture harness (`tools/torture`): a mixed workload in several worker processes, a
/// random one SIGKILLed every few hundred milliseconds, then every invariant checked from the
/// logs and a side-effect ledger.
///
///   durable-test-helper torture <dir> <seconds> [<workers>]     the driver; exit 1 on a violation
///   durable-test-helper torture-worker <dir> <ledger>           one worker (started by the driver)
enum Torture {
    static let queue = WorkflowQueue("torture-limited", concurrency: 2)

    /// Appends lines to the ledger; each line is one `write` to an `O_APPEND` file, so lines of
    /// concurrent processes never interleave and the file's order is the order they happened in.
    struct Ledger: Sendable {
        let fd: Int32
        init(_ path: String) { fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600) }
        func note(_ line: String) {
            let bytes = Array((line + "\n").utf8)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }
    }

    static func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    // MARK: Worker

    /// This worker process's identity in the ledger: its incarnation number from the driver,
    /// unique for the whole run (process IDs are reused once a long run spawns past pid_max).
    static let incarnation = getenv("TORTURE_WORKER").map { String(cString: $0) } ?? "\(getpid())"

    static func worker(directory: String, ledgerPath: String) async throws {
        let ledger = Ledger(ledgerPath)
        let pid = getpid()
        var configuration = DurableEngine.Configuration(applicationVersion: "torture")
        configuration.recoveryInterval = .milliseconds(100)
        configuration.indexCatchUpInterval = .seconds(1)
        configuration.logger.logLevel = .critical
        // Every kill recovers what its worker owned: over minutes of kills a workflow that waits
        // for its payment is recovered hundreds of times, which is not a poison pill.
        configuration.maxRecoveryAttempts = 1_000_000
        let engine = try TestHelper.engine(at: directory, configuration)
        /// A step whose body notes `run`, and whose checkpoint is followed by `ack`.
        @Sendable func step<T: Codable & Sendable>(
            _ context: WorkflowContext, _ name: String, _ body: @escaping @Sendable () async throws -> T
        ) async throws -> T {
            let value = try await context.step(name) { () -> T in
                ledger.note("run \(context.workflowID) \(name) \(pid)")
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...80)))  // a window for the kills to land in
                return try await body()
            }
            ledger.note("ack \(context.workflowID) \(name)")
            return value
        }
        engine.register(name: "torture-order") { (n: Int, context: WorkflowContext) -> String in
            var total = 0
            for name in ["a", "b", "c"] { total += try await step(context, name) { n } }
            let job = try await context.enqueue(TortureJob.self, n, on: queue.name)
            total += try await job.result()
            let paid = try await context.recv(topic: "pay", as: String.self, timeout: .seconds(600)) ?? "unpaid"
            try await context.setEvent("total", total)
            try await context.writeStream("progress", 1)
            try await context.writeStream("progress", 2)
            try await context.closeStream("progress")
            return "\(n):\(paid):\(total)"
        }
        engine.register(TortureJob(ledger: ledger))
        engine.register(name: "torture-tick") { (run: ScheduledRun, context: WorkflowContext) -> String in
            try await step(context, "tick") { run.scheduledTime }
        }
        engine.register(queue)
        engine.schedule(workflowNamed: "torture-tick", try CronSchedule("torture-tick", cron: "*/2 * * * * *"))
        try await engine.launch()
        try await TestHelper.serveUntilParentGoes(engine)
    }

    /// The queued child: one 20 ms step, noted `B` (begin) and `E` (end) with times, to check
    /// that no more than the queue's limit run at once.
    struct TortureJob: Workflow {
        static let name = "torture-job"
        let ledger: Ledger

        func run(_ n: Int, context: WorkflowContext) async throws -> Int {
            let pid = Torture.incarnation
            let value = try await context.step("work") { () -> Int in
                ledger.note("B \(context.workflowID) \(pid) \(Torture.nowMilliseconds())")
                try await Task.sleep(for: .milliseconds(20))
                ledger.note("E \(context.workflowID) \(pid) \(Torture.nowMilliseconds())")
                return n
            }
            ledger.note("ack \(context.workflowID) work")
            return value
        }
    }

    // MARK: Driver

    static func drive(directory: String, seconds: Double, workers count: Int) async throws -> Never {
        // Beside the directory; for a database, in the temporary directory.
        let scratch =
            TestHelper.isDatabase(directory) ? NSTemporaryDirectory() + "durable-torture-\(getpid())" : directory
        let ledgerPath = scratch + ".ledger"
        let kills = Ledger(scratch + ".kills")
        var workers: [Process] = []
        var incarnations: [Int] = []
        var spawned = 0
        func spawn() throws -> Process {
            spawned += 1
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            process.arguments = ["torture-worker", directory, ledgerPath]
            process.standardOutput = FileHandle.nullDevice
            var environment = ProcessInfo.processInfo.environment
            environment["SWIFT_BACKTRACE"] = "enable=no"
            environment["TORTURE_WORKER"] = "\(spawned)"
            process.environment = environment
            try process.run()
            return process
        }
        for _ in 0..<count {
            workers.append(try spawn())
            incarnations.append(spawned)
        }
        let client = DurableClient(store: try TestHelper.store(at: directory))
        var orders: [Int] = []
        var killed = 0
        let end = Date().addingTimeInterval(seconds)
        var next = 0
        while Date() < end {
            // Start a few orders and pay earlier ones (twice, with one idempotency key).
            for _ in 0..<3 {
                _ = try await client.start("torture-order", next, id: "order-\(next)", as: String.self)
                orders.append(next)
                next += 1
            }
            for n in orders.suffix(12).dropLast(3) where n % 2 == 0 || Bool.random() {
                try? await client.send(to: "order-\(n)", topic: "pay", "paid-\(n)", idempotencyKey: "pay-\(n)")
            }
            // Kill at a random moment after the starts, so kills land in steps, waits and claims alike.
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...200)))
            let victim = Int.random(in: 0..<workers.count)
            kills.note("K \(incarnations[victim]) \(nowMilliseconds())")
            kill(workers[victim].processIdentifier, SIGKILL)
            workers[victim].waitUntilExit()
            killed += 1
            workers[victim] = try spawn()
            incarnations[victim] = spawned
            try await Task.sleep(for: .milliseconds(Int.random(in: 50...250)))
        }
        for n in orders {
            try await client.send(to: "order-\(n)", topic: "pay", "paid-\(n)", idempotencyKey: "pay-\(n)")
        }
        // Quiesce: the survivors finish everything.
        let deadline = Date().addingTimeInterval(180)
        var unfinished = orders
        while !unfinished.isEmpty && Date() < deadline {
            try await Task.sleep(for: .milliseconds(200))
            var still: [Int] = []
            for n in unfinished where try await client.status(of: "order-\(n)") != .success { still.append(n) }
            unfinished = still
        }
        for worker in workers {
            kill(worker.processIdentifier, SIGKILL)
            worker.waitUntilExit()
        }
        let violations = try await verify(
            directory: directory, orders: orders, unfinished: unfinished, ledgerPath: ledgerPath,
            killsPath: scratch + ".kills")
        print(
            "torture: \(seconds) s, \(count) workers, \(killed) SIGKILLs, \(orders.count) orders, \(violations.count) violations"
        )
        // A summary by kind (the first words of each), then the first few of each kind.
        let kinds = Dictionary(grouping: violations) {
            $0.split(separator: " ").dropFirst().prefix(3).joined(separator: " ")
        }
        for (kind, all) in kinds.sorted(by: { $0.value.count > $1.value.count }) {
            print("violations: \(all.count) x \"\(kind)\"")
            for violation in all.prefix(5) { print("VIOLATION: \(violation)") }
        }
        exit(violations.isEmpty ? 0 : 1)
    }

    /// Every invariant, from the logs and the ledger.
    static func verify(
        directory: String, orders: [Int], unfinished: [Int], ledgerPath: String, killsPath: String
    ) async throws -> [String] {
        var violations: [String] = unfinished.map { "order-\($0) did not finish" }
        let store = try TestHelper.store(at: directory)
        let lines = try String(contentsOfFile: ledgerPath, encoding: .utf8).split(separator: "\n").map {
            $0.split(separator: " ").map(String.init)
        }
        // 1. Each workflow ended exactly once, with the right result; each message arrived once.
        for n in orders {
            let id = "order-\(n)"
            let events = try await store.history(of: id)
            let history = WorkflowHistory(workflowID: id, events: events)
            let ends = events.filter { if case .ended = $0 { true } else { false } }.count
            if ends != 1 { violations.append("\(id) has \(ends) END records") }
            if history.status == .success, history.output != "\"\(n):paid-\(n):\(4 * n)\"" {
                violations.append("\(id) returned \(history.output ?? "nothing")")
            }
            let payments = try await store.inbox(of: id).filter { $0.id == "pay-\(n)" }.count
            if payments != 1 { violations.append("\(id) has \(payments) copies of its payment") }
        }
        // 2. No checkpointed step ran again: no `run` after an `ack` of the same step.
        var acked = Set<String>()
        for line in lines where line.count >= 3 {
            let key = line[1] + " " + line[2]
            if line[0] == "ack" { acked.insert(key) }
            if line[0] == "run", acked.contains(key) { violations.append("step \(key) ran again after its checkpoint") }
        }
        // 3. The queue's limit held: at most 2 jobs in their step at once (a killed process's
        //    open step ends when it was killed).
        let killTimes = Dictionary(
            (try String(contentsOfFile: killsPath, encoding: .utf8)).split(separator: "\n").compactMap {
                line -> (String, Int64)? in
                let parts = line.split(separator: " ")
                return parts.count == 3 ? (String(parts[1]), Int64(parts[2]) ?? 0) : nil
            }, uniquingKeysWith: { $1 })
        var open: [String: (pid: String, at: Int64)] = [:]
        var events: [(at: Int64, delta: Int)] = []
        for line in lines where line.count == 4 && (line[0] == "B" || line[0] == "E") {
            let key = line[1] + " " + line[2]
            if line[0] == "B" {
                open[key] = (line[2], Int64(line[3]) ?? 0)
            } else if let begin = open.removeValue(forKey: key) {
                events += [(begin.at, 1), (Int64(line[3]) ?? 0, -1)]
            }
        }
        for (_, begin) in open {
            // still running at the end: ended by the final kill
            guard let death = killTimes[begin.pid] else { continue }
            events += [(begin.at, 1), (death, -1)]
        }
        var running = 0
        var busiest = 0
        for event in events.sorted(by: { ($0.at, $0.delta) < ($1.at, $1.delta) }) {
            running += event.delta
            busiest = max(busiest, running)
            if running > queue.concurrency! {
                violations.append("\(running) jobs ran at once on a queue limited to \(queue.concurrency!)")
            }
        }
        let reruns = Dictionary(
            grouping: lines.filter { $0.first == "run" && $0.count >= 3 }, by: { $0[1] + " " + $0[2] }
        ).values.filter { $0.count > 1 }.count
        // 4. Each cron tick ran once: one workflow per tick, each ended at most once.
        var filter = WorkflowFilter()
        filter.name = "torture-tick"
        let ticks = try await store.list(filter)
        for tick in ticks {
            let ends = try await store.history(of: tick.workflowID).filter {
                if case .ended = $0 { true } else { false }
            }.count
            if ends > 1 { violations.append("\(tick.workflowID) ended \(ends) times") }
        }
        print(
            "torture: \(lines.count) ledger lines, \(reruns) steps re-run after a kill before their checkpoint (allowed), "
                + "\(events.count / 2) queued job runs, at most \(busiest) at once (limit \(queue.concurrency!)), \(ticks.count) cron ticks"
        )
        return violations
    }
}
