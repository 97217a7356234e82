import DurableWorkflows

extension DurableEngine {
    /// Replays every workflow `filter` selects in this engine's store against the workflows
    /// registered on it, and throws ``ReplayGateFailure`` (naming each one and its first
    /// divergence) unless all replay cleanly: the one-line CI gate before a deploy.
    ///
    /// ```swift
    /// @Test func newCodeReplaysProductionLogs() async throws {
    ///     let engine = try DurableEngine(directory: "Fixtures/production-sample")
    ///     engine.register(Checkout.self)
    ///     try await engine.expectReplaysCleanly()
    /// }
    /// ```
    @discardableResult
    public func expectReplaysCleanly(_ filter: WorkflowFilter = WorkflowFilter()) async throws -> ReplaySummary {
        let summary = try await WorkflowReplayer(engine: self).replay(filter)
        let failed = summary.results.filter { $0.outcome != .clean }
        if !failed.isEmpty { throw ReplayGateFailure(failed: failed, replayed: summary.results.count) }
        return summary
    }
}

/// Workflows that did not replay cleanly, thrown by ``DurableWorkflows/DurableEngine/expectReplaysCleanly(_:)``.
public struct ReplayGateFailure: Error, CustomStringConvertible {
    /// The workflows that diverged or could not be replayed.
    public var failed: [ReplayResult]
    /// How many workflows were replayed.
    public var replayed: Int

    public var description: String {
        "\(failed.count) of \(replayed) workflows do not replay cleanly:\n"
            + failed.map { "  \($0)" }.joined(separator: "\n")
    }
}
