import DurableCLI
import DurableWorkflows

extension TestHelper {
    /// `replay-verify --dir D` (and every other `durable` command) with the workflows the crash,
    /// primitive and queue tests record registered, as an application's binary would offer it.
    /// A replay runs no step, so the ledger they would write is never opened.
    static func runDurableCommand() async {
        await DurableCommand.runAsMain { engine in
            let unused = LedgerWorkflow(ledger: -1, killPoints: [], firedPath: nil, stepSleepMilliseconds: 0)
            engine.register(unused)
            engine.register(PrimitivesWorkflow(killer: unused))
            engine.register(PrimitivesChild(killer: unused))
            registerLedgerJob(on: engine) { id in
                throw WorkflowError("a replay ran the step of \(id)", workflowID: id)
            }
        }
    }
}
