/// A durable workflow: a deterministic function of its input whose steps are checkpointed.
///
/// ```swift
/// struct Checkout: Workflow {
///     static let name = "checkout"   // persisted in every log: keep it stable
///     func run(_ order: Order, context: WorkflowContext) async throws -> Receipt {
///         let charge = try await context.step("charge", retry: .exponential(maxAttempts: 5)) {
///             try await payments.charge(order.amount)
///         }
///         try await context.step("email") { try await mailer.send(order.user, "Paid") }
///         return Receipt(charge: charge)
///     }
/// }
/// ```
///
/// The body must be deterministic: everything that may differ between runs (I/O, time,
/// randomness) goes through `context` (``WorkflowContext/step(_:retry:_:)``,
/// ``WorkflowContext/now()``, ``WorkflowContext/uuid()``, ``WorkflowContext/random(in:)``).
public protocol Workflow: Sendable {
    /// The input, stored as JSON.
    associatedtype Input: Codable & Sendable
    /// The result, stored as JSON.
    associatedtype Output: Codable & Sendable

    /// The workflow's persisted name. Required and stable: renaming it orphans existing workflows.
    static var name: String { get }

    /// The workflow's body.
    func run(_ input: Input, context: WorkflowContext) async throws -> Output
}

/// A registered workflow with its types erased: JSON in, JSON out.
struct RegisteredWorkflow: Sendable {
    let name: String
    /// Decodes the input envelope, runs the body, encodes the output.
    let body: @Sendable (_ inputs: String, _ context: WorkflowContext) async throws -> String

    init<W: Workflow>(_ workflow: W) {
        name = W.name
        body = { inputs, context in
            let input = try WorkflowJSON.input(W.Input.self, fromInputs: inputs)
            return try WorkflowJSON.encodeText(try await workflow.run(input, context: context))
        }
    }

    init<Input: Codable & Sendable, Output: Codable & Sendable>(
        name: String, _ run: @escaping @Sendable (Input, WorkflowContext) async throws -> Output
    ) {
        self.name = name
        body = { inputs, context in
            let input = try WorkflowJSON.input(Input.self, fromInputs: inputs)
            return try WorkflowJSON.encodeText(try await run(input, context))
        }
    }
}
