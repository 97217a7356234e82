import DurableWorkflows
import Foundation

/// The demo's workflow: five steps of an order, each slow enough to kill the process mid-run.
struct ProcessOrder: Workflow {
    static let name = "process-order"

    struct Order: Codable, Sendable {
        var id: String
        var item: String
        var cents: Int
    }

    struct Confirmation: Codable, Sendable {
        var order: String
        var charge: String
        var tracking: String
    }

    /// Prints what each step does, and whether it ran or came back from the log.
    let say: @Sendable (String) -> Void

    func run(_ order: Order, context: WorkflowContext) async throws -> Confirmation {
        _ = try await checkpoint(context, 1, "validate") { "order \(order.id) is valid" }
        _ = try await checkpoint(context, 2, "reserve-inventory") { "reserved 1 x \(order.item)" }
        let charge = try await checkpoint(context, 3, "charge-card") { "ch_\(order.id)_\(order.cents)" }
        let tracking = try await checkpoint(context, 4, "ship") { "TRACK-\(order.id.uppercased())" }
        _ = try await checkpoint(context, 5, "email-receipt") { "emailed receipt for \(charge)" }
        return Confirmation(order: order.id, charge: charge, tracking: tracking)
    }

    private func checkpoint(
        _ context: WorkflowContext, _ number: Int, _ name: String, _ effect: @escaping @Sendable () -> String
    ) async throws -> String {
        let ran = RanFlag()
        let result = try await context.step(name) { () -> String in
            ran.set()
            say("  step \(number) \(name): running ... ")
            try await Task.sleep(for: .milliseconds(600))
            return effect()
        }
        say(
            ran.value
                ? "  step \(number) \(name): done and checkpointed -> \(result)"
                : "  step \(number) \(name): REPLAYED from the log (not run again) -> \(result)")
        return result
    }
}

/// Whether a step body ran in this process.
final class RanFlag: Sendable {
    private let flag = Mutex(false)
    func set() { flag.withLock { $0 = true } }
    var value: Bool { flag.withLock { $0 } }
}

import Synchronization
