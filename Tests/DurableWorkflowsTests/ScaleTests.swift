import DurableTesting
import DurableWorkflows
import Foundation
import Testing

@Suite("Scale", .serialized, .timeLimit(.minutes(10)))
struct ScaleTests {
    @Test("a workflow with 100,000 steps runs, and a recovered one replays them all without running one again")
    func manySteps() async throws {
        let count = 100_000
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let body: @Sendable (Int, WorkflowContext) async throws -> Int = { stop, context in
            var total = 0
            for k in 0..<count {
                total += try await context.step("s") { () -> Int in
                    counter.hit("runs")
                    return k % 7
                }
                if k == stop { try await Task.sleep(for: .seconds(3600)) }  // the first run waits here
            }
            return total
        }
        let first = try makeEngine(dir)
        first.register(name: "long", body)
        try await first.launch()
        let start = ContinuousClock.now
        _ = try await first.start(name: "long", count - 1, id: "long-1", as: Int.self)
        #expect(try await eventually(.seconds(240)) { counter["runs"] == count })
        let firstRun = ContinuousClock.now - start
        await first.shutdown()  // pending, every step checkpointed
        let second = try makeEngine(dir)
        second.register(name: "long") { (_: Int, context: WorkflowContext) -> Int in try await body(-1, context) }
        let replayStart = ContinuousClock.now
        #expect(try await second.launch() == ["long-1"])
        let expected = (0..<count).reduce(0) { $0 + $1 % 7 }
        #expect(try await second.handle(for: "long-1", as: Int.self).result() == expected)
        let replay = ContinuousClock.now - replayStart
        #expect(counter["runs"] == count, "no step ran twice")
        #expect(replay < firstRun, "replaying \(count) steps (\(replay)) is faster than running them (\(firstRun))")
        print("scale: \(count) steps ran in \(firstRun), replayed in \(replay)")
        await second.shutdown()
    }
}
