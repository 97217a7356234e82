import DurableLog

extension WorkflowContext {
    /// Appends `value` to the stream `key` of this workflow (recorded as `DBOS.writeStream`;
    /// replay does not write it again). Readers in any process see it at once.
    public func writeStream<Value: Encodable & Sendable>(_ key: String, _ value: Value) async throws {
        let json = try WorkflowJSON.encodeText(value)
        _ = try await operation(kind: "writeStream", name: "DBOS.writeStream", retry: .none, key: key) { json }
    }

    /// Closes the stream `key`: readers finish after its last item (`DBOS.closeStream`).
    public func closeStream(_ key: String) async throws {
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

extension DurableEngine {
    /// Reads stream `key` of workflow `id` from `offset`, following it live: the sequence yields
    /// every item as it is written (in this process or another) and finishes when the stream is
    /// closed or the workflow has ended.
    public func readStream<Value: Decodable & Sendable>(
        _ id: String, key: String, from offset: Int = 0, as type: Value.Type = Value.self
    ) -> AsyncThrowingStream<Value, any Error> {
        AsyncThrowingStream { continuation in
            let reader = Task {
                do {
                    var next = offset
                    _ = try await waitForLog(of: id, until: nil) { history -> WaitDecision<Bool?> in
                        let (items, closed) = history.stream(key)
                        while next < items.count {
                            continuation.yield(try WorkflowJSON.decode(Value.self, fromText: items[next]))
                            next += 1
                        }
                        return closed || history.status.isTerminal ? .done(true) : .keepWaiting
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in reader.cancel() }
        }
    }
}
