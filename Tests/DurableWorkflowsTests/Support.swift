import DurableStorage
import DurableLog
import DurableTesting
import Foundation
import Synchronization
import Testing

@testable import DurableWorkflows

extension DurableEngine {
    /// The file storage engine underneath: tests reach into the files on purpose (to damage
    /// them, to read raw records), which the engine's API never does.
    var store: LogStore { (storage as! FileWorkflowStore).log }
}

extension DurableClient {
    /// The file storage engine underneath (see ``DurableEngine/store``).
    var store: LogStore { (storage as! FileWorkflowStore).log }
}

/// Counts how often each step body really ran (in this process).
final class RunCounter: Sendable {
    private let counts = Locked<[String: Int]>([:])
    func hit(_ key: String) { counts.withLock { $0[key, default: 0] += 1 } }
    subscript(_ key: String) -> Int { counts.withLock { $0[key, default: 0] } }
}

/// An engine on `dir` with a fast recovery sweep.
func makeEngine(
    _ dir: TemporaryDirectory, version: String = "1", maxRecoveryAttempts: Int = 100, clock: (any DurableClock)? = nil
) throws -> DurableEngine {
    var configuration = DurableEngine.Configuration(applicationVersion: version)
    configuration.maxRecoveryAttempts = maxRecoveryAttempts
    configuration.recoveryInterval = .milliseconds(50)
    if let clock { configuration.clock = clock }
    return try DurableEngine(directory: dir.data, configuration: configuration)
}

struct Order: Codable, Sendable, Equatable {
    var id: String
    var amount: Int
}

struct Receipt: Codable, Sendable, Equatable {
    var order: String
    var charged: Int
    var emailed: Bool
}

struct PaymentDeclined: Error, CustomStringConvertible {
    var reason: String
    var description: String { "card declined: \(reason)" }
}

/// Three steps; `counter` records real executions.
struct Checkout: Workflow {
    static let name = "checkout"
    let counter: RunCounter

    func run(_ order: Order, context: WorkflowContext) async throws -> Receipt {
        let reserved = try await context.step("reserve") { () -> Int in
            counter.hit("reserve")
            return order.amount
        }
        let charged = try await context.step("charge") { () -> Int in
            counter.hit("charge")
            if order.amount < 0 { throw PaymentDeclined(reason: "negative amount") }
            return reserved
        }
        try await context.step("email") { counter.hit("email") }
        return Receipt(order: order.id, charged: charged, emailed: true)
    }
}

/// Real time that records every wait it is asked for.
final class RecordingClock: DurableClock {
    private let recorded = Locked<[Duration]>([])
    private let system = SystemDurableClock()
    var sleeps: [Duration] { recorded.withLock { $0 } }
    func nowMilliseconds() -> Int64 { system.nowMilliseconds() }
    func sleep(for duration: Duration) async throws {
        recorded.withLock { $0.append(duration) }
        try await system.sleep(for: duration)
    }
}

/// Replays every workflow in `dir` with the test helper's workflows registered (its
/// `replay-verify`, as an application's binary offers it) and expects all to replay cleanly.
func expectHelperLogsReplayCleanly(
    _ dir: TemporaryDirectory, sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    let (status, _, output) = try await ChildProcess("DurableTestHelper", ["replay-verify", "--dir", dir.data])
        .finish()
    #expect(status == 0, "the recorded logs replay cleanly: \(output)", sourceLocation: sourceLocation)
    #expect(output.contains(" 0 diverged, 0 not replayable"), "\(output)", sourceLocation: sourceLocation)
}

/// Whether the PostgreSQL backend runs here: its server binaries are installed, or `tools/test`
/// requires it (DURABLE_INTEROP_REQUIRED=1, so a missing server fails instead of skipping).
let postgresAvailable: Bool = {
    if TemporaryPostgres.binaries != nil || ProcessInfo.processInfo.environment["DURABLE_INTEROP_REQUIRED"] == "1" {
        return true
    }
    print("NOTICE: PostgreSQL backend conformance skipped: no PostgreSQL server binaries (tools/test installs them)")
    return false
}()

/// The PostgreSQL location standing for a test's fresh `directory`: a schema of its own (named
/// by a hash of the path) on the test process's shared server.
func postgresLocation(for directory: String) throws -> String {
    let server = try TemporaryPostgres.shared.get()
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in directory.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return server.url() + "?schema=t_" + String(hash, radix: 16)
}
