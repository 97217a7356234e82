import DurableWorkflows

/// Sends to one inbox: each send checks its idempotency key against the inbox, so the cost of
/// the n-th send shows whether that check reads the whole inbox (O(n) per send) or only what is new.
enum InboxWorkloads {
    static func run(directory: String, count: Int) async throws -> (first: Measurement, last: Measurement) {
        let store = try FileWorkflowStore(directory: directory)
        var fields = WorkflowFields()
        fields.name = "inbox-bench"
        fields.status = .pending
        fields.createdAt = 1
        let start = StartRecord(
            name: "inbox-bench", inputs: "[]", applicationVersion: "1", executorID: "b", createdAt: 1)
        let lease = try await store.create("inbox", fields: fields, events: [.started(start)])
        defer { lease?.release() }
        var latencies: [Double] = []
        for i in 0..<count {
            let sent = nowNanos()
            try await store.deliver(
                .message(InboxMessage(id: "m-\(i)", topic: nil, value: "\(i)", sentAt: 1)), to: "inbox")
            latencies.append(Double(nowNanos() - sent) / 1000)
        }
        let tenth = max(1, count / 10)
        func measured(_ part: ArraySlice<Double>) -> Measurement {
            Measurement(count: part.count, seconds: part.reduce(0, +) / 1e6, latenciesMicros: Array(part))
        }
        return (measured(latencies.prefix(tenth)), measured(latencies.suffix(tenth)))
    }
}
