import DurableWorkflows

/// A 5-step workflow for the replay benchmark (each step returns a small record, as a real one would).
struct FiveSteps: Workflow {
    static let name = "five-steps"

    func run(_ i: Int, context: WorkflowContext) async throws -> [String] {
        var done: [String] = []
        for k in 1...5 { done.append(try await context.step("step-\(k)") { "result \(k) of workflow \(i)" }) }
        return done
    }
}

/// Replay throughput: `count` finished 5-step workflows recorded, then replayed against the
/// same code by a ``WorkflowReplayer`` on an engine that is never launched (the CI gate).
enum ReplayWorkloads {
    static func run(directory: String, count: Int) async throws -> [String] {
        let recorder = try WorkflowWorkloads.engine(directory)
        recorder.register(FiveSteps())
        try await recorder.launch()
        let recordStart = nowNanos()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<32 {
                group.addTask {
                    for i in stride(from: lane, to: count, by: 32) {
                        _ = try await recorder.run(FiveSteps.self, i, id: "replay-\(i)")
                    }
                }
            }
            try await group.waitForAll()
        }
        let recordSeconds = Double(nowNanos() - recordStart) / 1e9
        await recorder.shutdown()

        let engine = try WorkflowWorkloads.engine(directory)
        engine.register(FiveSteps())
        var best = Double.infinity
        var clean = 0
        for _ in 0..<3 {  // the first pass reads the logs from disk, later ones from the page cache
            let start = nowNanos()
            let summary = try await WorkflowReplayer(engine: engine).replay()
            best = min(best, Double(nowNanos() - start) / 1e9)
            clean = summary.clean
            guard clean == count else { throw WorkflowError("only \(clean) of \(count) workflows replayed cleanly") }
        }
        print(
            "replay: \(count) recorded 5-step workflows (recorded in \(recordSeconds.rounded(1)) s) replayed in "
                + "\(best.rounded(3)) s: \((Double(count) / best).rounded(0)) workflows/s, all clean")
        return [
            "\"replay\":{\"workflows\":\(count),\"seconds\":\(best.rounded(3)),\"per_second\":\((Double(count) / best).rounded(1))}"
        ]
    }
}
