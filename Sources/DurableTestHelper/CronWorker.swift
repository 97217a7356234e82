#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DurableTesting
import DurableWorkflows
import Logging

extension TestHelper {
    /// `cron <dir> <ledger> <start-ms> <horizon-ms>`: fires two schedules across daylight-saving
    /// changes (hourly in New York, every two hours at :30 in Berlin) on a manual clock that runs
    /// from `start` to `horizon` as fast as the scheduler asks, then stays there. Each run appends
    /// "T <workflow-id> <pid>" to the ledger. Prints "ready" once launched.
    static func runCronWorker(directory: String, ledgerPath: String, start: Int64, horizon: Int64) async throws {
        let ledger = open(ledgerPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        let pid = getpid()
        var configuration = DurableEngine.Configuration(applicationVersion: "cron-test")
        configuration.recoveryInterval = .milliseconds(50)
        configuration.logger.logLevel = .warning
        configuration.clock = ManualClock(start: start, horizon: horizon)
        let engine = try TestHelper.engine(at: directory, configuration)
        engine.register(name: "tick-job") { (run: ScheduledRun, context: WorkflowContext) -> String in
            try await context.step("note") {
                let bytes = Array("T \(context.workflowID) \(pid)\n".utf8)
                _ = bytes.withUnsafeBytes { write(ledger, $0.baseAddress, $0.count) }
            }
            return run.scheduledTime
        }
        engine.schedule(
            workflowNamed: "tick-job", try CronSchedule("ny-hourly", cron: "0 * * * *", timeZone: "America/New_York"))
        engine.schedule(
            workflowNamed: "tick-job", try CronSchedule("berlin", cron: "30 */2 * * *", timeZone: "Europe/Berlin"))
        try await engine.launch()
        try await serveUntilParentGoes(engine)
    }
}
