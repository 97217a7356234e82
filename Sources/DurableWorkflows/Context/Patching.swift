import DurableStorage

/// Changing a workflow's code safely while executions of the old code are still running.
extension WorkflowContext {
    /// Whether this execution takes the new path of the change named `name`.
    ///
    /// Wrap a change in it, keeping the old code in the other branch:
    ///
    /// ```swift
    /// if try await context.patched("fraud-check") {
    ///     try await context.step("fraud-check") { try await fraud.check(order) }
    /// }
    /// ```
    ///
    /// An execution that reaches this point for the first time records a marker
    /// (`DBOS.patch-<name>`, as DBOS does) and gets `true`, and so does its replay. A workflow whose
    /// log already holds another operation at this position started before the change and went
    /// past this point on the old path: it gets `false`, and the position is left to that
    /// operation. Once no unfinished workflow needs the old path (`durable patches` tells),
    /// replace the call with ``deprecatePatch(_:)`` and delete the old branch.
    public func patched(_ name: String) async throws -> Bool {
        let marker = try Self.patchMarker(name)
        try await checkCancellation()
        let position = nextPosition
        if let recorded = recordedOperation(at: position) {
            guard recorded.kind == "patch", recorded.name == marker else { return false }
            _ = try replayed(takePositions(1), kind: "patch", name: marker)
            return true
        }
        // A replay of a run that finished without reaching a marker here: it took the old path.
        if replaying && replayedRunEnded { return false }
        _ = try await operation(kind: "patch", name: marker, retry: .none) { "true" }
        return true
    }

    /// Retires the change named `name` once no unfinished workflow needs its old path: an
    /// execution that recorded the marker of ``patched(_:)`` here passes over it, and new ones
    /// record nothing. Call it where `patched(name)` was, with the new code unconditional after
    /// it; remove it once no unfinished workflow holds the marker (`durable patches` tells).
    public func deprecatePatch(_ name: String) async throws {
        let marker = try Self.patchMarker(name)
        try await checkCancellation()
        if let recorded = recordedOperation(at: nextPosition), recorded.kind == "patch", recorded.name == marker {
            _ = try replayed(takePositions(1), kind: "patch", name: marker)
        }
    }

    /// The recorded name of patch `name`'s marker.
    static func patchMarker(_ name: String) throws -> String {
        try WorkflowJSON.checkedName(name, what: "the patch name", allowsEmpty: false)
        return "DBOS.patch-\(name)"
    }
}
