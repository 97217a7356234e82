import DurableStorage

extension WorkflowContext {
    /// Appends `value` to the stream `key` of this workflow (recorded as `DBOS.writeStream`;
    /// replay does not write it again). Readers in any process see it at once.
    public func writeStream<Value: Encodable & Sendable>(_ key: String, _ value: Value) async throws {
        try WorkflowJSON.checkedName(key, what: "the stream key")
        let json = try WorkflowJSON.encodeText(value)
        _ = try await operation(kind: "writeStream", name: "DBOS.writeStream", retry: .none, key: key) { json }
    }

    /// Closes the stream `key`: readers finish after its last item (`DBOS.closeStream`).
    public func closeStream(_ key: String) async throws {
        try WorkflowJSON.checkedName(key, what: "the stream key")
        _ = try await operation(kind: "closeStream", name: "DBOS.closeStream", retry: .none, key: key) { "null" }
    }
}

extension WorkflowHistory {
    /// The items (JSON text) of stream `key` in order, and whether it was closed.
    public func stream(_ key: String) -> (items: [String], closed: Bool) {
        var items: [String] = []
        var closed = false
        for id in operations.keys.sorted() {
            let operation = operations[id]!
            guard operation.key == key else { continue }
            if operation.kind == "writeStream" { items.append(operation.output ?? "null") }
            if operation.kind == "closeStream" { closed = true }
        }
        return (items, closed)
    }
}
