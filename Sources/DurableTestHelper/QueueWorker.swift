#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DurableWorkflows
import Logging
import Synchronization

extension TestHelper {
    static func runQueueWorker(
        directory: String, ledgerPath: String, queue: String, concurrency: Int, workerConcurrency: Int
    ) async throws {
        let environment = { (name: String) -> String? in getenv(name).map { String(cString: $0) } }
        let ledger = open(ledgerPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        let killAfter = Int(environment("KILL_AFTER") ?? "") ?? Int.max
        let sleep = Int(environment("STEP_SLEEP_MS") ?? "0") ?? 0
        let awaitOtherGroup = environment("AWAIT_OTHER_GROUP") != nil
        let begun = Atomic<Int>(0)
        let pid = getpid()
        @Sendable func note(_ line: String) {
            let bytes = Array((line + "\n").utf8)
            _ = bytes.withUnsafeBytes { write(ledger, $0.baseAddress, $0.count) }
        }
        var configuration = DurableEngine.Configuration(applicationVersion: "queue-test")
        configuration.recoveryInterval = .milliseconds(50)
        configuration.logger.logLevel = .warning
        let engine = try TestHelper.engine(at: directory, configuration)
        registerLedgerJob(on: engine) { id in
            note("B \(id) \(pid)")
            if begun.add(1, ordering: .relaxed).newValue == killAfter {
                note("K \(pid)")
                kill(pid, SIGKILL)
            }
            if awaitOtherGroup {
                // Hold this step until a workflow of another group (ID prefix) has begun: it
                // can only finish if the groups' limits are independent.
                let group = id.split(separator: "-").first.map(String.init) ?? ""
                for _ in 0..<3000 {
                    let text = (try? String(contentsOfFile: ledgerPath)) ?? ""
                    if text.split(separator: "\n").contains(where: {
                        $0.hasPrefix("B ") && !$0.hasPrefix("B \(group)-")
                    }) {
                        break
                    }
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            if sleep > 0 { try await Task.sleep(for: .milliseconds(sleep)) }
            note("E \(id) \(pid)")
            return "done-\(id)"
        }
        // 0 means "no limit"; RATE_LIMIT="<starts>/<ms>" adds a rate limit.
        let rate = environment("RATE_LIMIT").flatMap { text -> WorkflowQueue.RateLimit? in
            let parts = text.split(separator: "/").compactMap { Int($0) }
            return parts.count == 2 ? .init(limit: parts[0], period: .milliseconds(parts[1])) : nil
        }
        engine.register(
            WorkflowQueue(
                queue, concurrency: concurrency > 0 ? concurrency : nil,
                workerConcurrency: workerConcurrency > 0 ? workerConcurrency : nil,
                rateLimit: rate))
        try await engine.launch()
        try await serveUntilParentGoes(engine)
    }

    /// The queue tests' workflow: one step, `work`, given the workflow's ID.
    static func registerLedgerJob(
        on engine: DurableEngine, work: @escaping @Sendable (String) async throws -> String
    ) {
        engine.register(name: "ledger-job") { (id: String, context: WorkflowContext) -> String in
            try await context.step("work") { try await work(id) }
        }
    }
}
