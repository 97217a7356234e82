/// What an engine and a client both offer for reading workflows: everything here works from
/// any process on the data directory, for workflows running anywhere or finished.
public protocol WorkflowReading: Sendable {
    /// Where workflows are recorded.
    var storage: any WorkflowStore { get }
}

extension WorkflowReading {
    /// Waits up to `timeout` for workflow `id` to set event `key`, and returns its latest value.
    ///
    /// Returns `nil` if the timeout passes, or if the workflow finished without setting the key.
    /// The store wakes the wait (the file backend: inotify), so a value set by another process is seen
    /// within milliseconds, without a polling interval.
    public func getEvent<Value: Decodable & Sendable>(
        _ id: String, key: String, as type: Value.Type = Value.self, timeout: Duration = .seconds(60)
    ) async throws -> Value? {
        try await storage.eventJSON(of: id, key: key, timeout: timeout).map {
            try WorkflowJSON.decode(Value.self, fromText: $0)
        }
    }

    /// Reads stream `key` of workflow `id` from `offset`, following it live: the sequence yields
    /// every item as it is written (in this process or another) and finishes when the stream is
    /// closed or the workflow has ended.
    public func readStream<Value: Decodable & Sendable>(
        _ id: String, key: String, from offset: Int = 0, as type: Value.Type = Value.self
    ) -> AsyncThrowingStream<Value, any Error> {
        storage.followStream(of: id, key: key, from: offset, as: type)
    }

    /// Lists workflows (from this and every other process sharing the directory).
    public func listWorkflows(_ filter: WorkflowFilter = WorkflowFilter()) async throws -> [WorkflowSummary] {
        try await storage.list(filter)
    }

    /// The status of workflow `id` (`nil` if it does not exist), as of every change acknowledged
    /// before the call.
    public func status(of id: String) async throws -> WorkflowStatus? {
        try await storage.fields(of: id).map { $0.status ?? .pending }
    }

    /// The completed operations of workflow `id`, in order, with timings, outputs and errors.
    public func steps(of id: String) async throws -> [StepInfo] {
        WorkflowHistory(workflowID: id, events: try await storage.history(of: id)).steps
    }
}
