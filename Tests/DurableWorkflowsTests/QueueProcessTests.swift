import DurableTesting
import DurableWorkflows
import Foundation
import Testing

/// Replays a queue worker ledger ("B id pid", "E id pid", "K pid" lines, in the order they
/// reached the shared file) and checks the limits at every instant.
struct QueueLedger {
    var maximumGlobal = 0
    var maximumPerProcess = 0
    /// Completions (E lines) per workflow by processes that were not killed at the time.
    var completions: [String: Int] = [:]
    var begins: [String: Int] = [:]
    var killed: Set<String> = []
    /// The processes that completed steps.
    var processes: Set<String> = []

    init(_ text: String) {
        var open: [String: Set<String>] = [:]  // pid → workflows mid-step
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ").map(String.init)
            switch parts.first {
            case "K":
                // The process dies right after this line; its steps in progress end with it.
                killed.insert(parts[1])
                open[parts[1]] = nil
            case "B" where !killed.contains(parts[2]):
                open[parts[2], default: []].insert(parts[1])
                begins[parts[1], default: 0] += 1
            case "E" where !killed.contains(parts[2]):
                open[parts[2]]?.remove(parts[1])
                completions[parts[1], default: 0] += 1
                processes.insert(parts[2])
            default: continue
            }
            maximumGlobal = max(maximumGlobal, open.values.reduce(0) { $0 + $1.count })
            maximumPerProcess = max(maximumPerProcess, open.values.map(\.count).max() ?? 0)
        }
    }
}

@Suite("Queues across processes")
struct QueueProcessTests {
    @Test("three processes drain 2,000 workflows within global concurrency 4 and worker concurrency 2; a SIGKILLed worker's workflows are finished by the others")
    func threeProcessesDrainAQueue() async throws {
        let dir = TemporaryDirectory()
        let ledger = dir.path + "/ledger"
        let total = 2000
        let arguments = ["queue-worker", dir.data, ledger, "drain", "4", "2"]
        let environment = ["STEP_SLEEP_MS": "1"]
        var workers = [
            try ChildProcess("DurableTestHelper", arguments, environment: environment),
            try ChildProcess("DurableTestHelper", arguments, environment: environment),
            try ChildProcess("DurableTestHelper", arguments, environment: environment.merging(["KILL_AFTER": "150"]) { $1 }),
        ]
        defer { for worker in workers { worker.kill() } }
        for worker in workers { #expect(worker.firstLine() == "ready") }
        // Enqueue from this (fourth) process while the workers already drain.
        let client = try DurableEngine(directory: dir.data, configuration: .init(applicationVersion: "queue-test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<8 {
                group.addTask {
                    for i in stride(from: lane, to: total, by: 8) {
                        _ = try await client.enqueue(name: "ledger-job", "w\(i)", on: "drain", options: EnqueueOptions(id: "w\(i)"), as: String.self)
                    }
                }
            }
            try await group.waitForAll()
        }
        // The killed worker is replaced, as a supervisor would, once it is gone.
        let killed = workers[2]
        #expect(killed.wait().killedBySignal)
        workers.append(try ChildProcess("DurableTestHelper", arguments, environment: environment))
        let deadline = ContinuousClock.now + .seconds(240)
        var done = 0
        while ContinuousClock.now < deadline {
            try client.store.index.refresh()
            done = client.store.index.entries { $0.fields.queueName == "drain" && $0.status == .success }.count
            if done == total { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(done == total)
        let result = QueueLedger(try String(contentsOfFile: ledger, encoding: .utf8))
        #expect(result.killed.count == 1)
        #expect(result.maximumGlobal <= 4, "global concurrency exceeded: \(result.maximumGlobal)")
        #expect(result.processes.count >= 3, "the work should be shared by the workers: \(result.processes)")
        #expect(result.maximumPerProcess <= 2, "worker concurrency exceeded: \(result.maximumPerProcess)")
        let twice = result.completions.filter { $0.value > 1 }
        #expect(twice.isEmpty, "steps completed more than once by live processes: \(twice.keys.sorted().prefix(5))")
        for i in 0..<total {
            let id = "w\(i)"
            let history = try WorkflowHistory(client.store.readLog(name: id))
            #expect(history.status == .success && history.output == "\"done-\(id)\"", "\(id): \(history.status)")
        }
        let rerun = result.begins.filter { $0.value > 1 }.count
        #expect(rerun >= 1, "the killed worker's workflows in progress should have run again elsewhere")
        await client.shutdown()
    }
}
