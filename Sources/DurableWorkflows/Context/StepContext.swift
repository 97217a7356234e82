/// Where the running step is: its workflow, its position and its attempt, readable from inside
/// the step's body (and anything it calls) as ``StepContext/current``.
///
/// Use it for the idempotency key of an external call (as DBOS's `DBOS.workflow_id` and
/// `DBOS.step_id`): `"\(step.workflowID)-\(step.functionID)"` is the same in every attempt and
/// every recovery of the step, and different for every other step.
///
/// ```swift
/// try await context.step("charge") {
///     let step = StepContext.current!
///     return try await payments.charge(order, idempotencyKey: "\(step.workflowID)-\(step.functionID)")
/// }
/// ```
public struct StepContext: Sendable, Equatable {
    /// The workflow the step belongs to.
    public var workflowID: String
    /// The step's position in the workflow (`function_id`, 1-based).
    public var functionID: Int
    /// The step's name.
    public var name: String
    /// Which attempt this is (1 for the first; retries count up).
    public var attempt: Int

    /// The step whose body is running, or nil outside any step body.
    @TaskLocal public static var current: StepContext?
}
