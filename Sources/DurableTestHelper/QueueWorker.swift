#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DurableWorkflows
import Logging
import Synchronization

extension TestHelper {
    static func runQueueWorker(directory: String, ledgerPath: String, queue: String, concurrency: Int, workerConcurrency: Int) async throws {
        let environment = { (name: String) -> String? in getenv(name).map { String(cString: $0) } }
        let ledger = open(ledgerPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        let killAfter = Int(environment("KILL_AFTER") ?? "") ?? Int.max
        let sleep = Int(environment("STEP_SLEEP_MS") ?? "0") ?? 0
        let begun = Atomic<Int>(0)
        let pid = getpid()
        @Sendable func note(_ line: String) {
            let bytes = Array((line + "\n").utf8)
            _ = bytes.withUnsafeBytes { write(ledger, $0.baseAddress, $0.count) }
        }
        var configuration = DurableEngine.Configuration(applicationVersion: "queue-test")
        configuration.recoveryInterval = .milliseconds(50)
        configuration.logger.logLevel = .warning
        let engine = try DurableEngine(directory: directory, configuration: configuration)
        engine.register(name: "ledger-job") { (id: String, context: WorkflowContext) -> String in
            try await context.step("work") { () -> String in
                note("B \(id) \(pid)")
                if begun.add(1, ordering: .relaxed).newValue == killAfter {
                    note("K \(pid)")
                    kill(pid, SIGKILL)
                }
                if sleep > 0 { try await Task.sleep(for: .milliseconds(sleep)) }
                note("E \(id) \(pid)")
                return "done-\(id)"
            }
        }
        engine.register(WorkflowQueue(queue, concurrency: concurrency, workerConcurrency: workerConcurrency))
        try await engine.launch()
        print("ready")
        fflush(stdout)
        let parent = getppid()
        while getppid() == parent { try await Task.sleep(for: .milliseconds(100)) }
        await engine.shutdown()
    }
}
