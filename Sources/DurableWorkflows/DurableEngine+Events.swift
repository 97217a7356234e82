import DurableLog

extension DurableEngine {
    /// Waits up to `timeout` for workflow `id` to set event `key`, and returns its latest value.
    ///
    /// Works for workflows in this process or another, running or finished. Returns `nil` if the
    /// timeout passes, or if the workflow finished without setting the key. Waiting uses the
    /// store's file watcher (inotify), so a value set by another process is seen within
    /// milliseconds, without a polling interval.
    public func getEvent<Value: Decodable & Sendable>(
        _ id: String, key: String, as type: Value.Type = Value.self, timeout: Duration = .seconds(60)
    ) async throws -> Value? {
        let deadline = Self.deadline(after: timeout)
        let found: String? = try await waitForLog(of: id, until: deadline) { history in
            if let value = history.events[key] { return .done(value) }
            return history.status.isTerminal ? .done(nil) : .keepWaiting
        }
        return try found.map { try WorkflowJSON.decode(Value.self, fromText: $0) }
    }

    /// Monotonic nanoseconds `timeout` from now.
    static func deadline(after timeout: Duration) -> UInt64 { FileWatcher.deadline(after: timeout) }

    /// What a log-watching wait decides after each look at the log.
    enum WaitDecision<T> {
        case done(T)
        case keepWaiting
    }

    /// Re-reads workflow `id`'s log whenever it changes until `decide` is done or `deadline`
    /// (monotonic ns) passes; returns `nil` on timeout.
    func waitForLog<T: Sendable>(
        of id: String, until deadline: UInt64?, _ decide: (WorkflowHistory) throws -> WaitDecision<T?>
    ) async throws -> T? {
        let path = try store.logPath(name: id)
        let watcher = try store.watcher()
        while true {
            try Task.checkCancellation()
            // Read the version before the log, so a change in between ends the wait at once.
            let version = try? watcher.version(of: path)
            if version != nil, let contents = try? await store.read(name: id) {
                if case .done(let value) = try decide(try WorkflowHistory(contents)) { return value }
            }
            if let deadline, FileWatcher.deadline(after: .zero) >= deadline { return nil }
            if let version {
                // inotify wakes the wait at once; the re-check at least every second bounds the
                // damage of any lost wake-up (a dropped event, an unwatchable file system).
                let recheck = Self.deadline(after: .seconds(1))
                await watcher.wait(for: path, after: version, until: min(deadline ?? recheck, recheck))
            } else {
                try await Task.sleep(for: .milliseconds(2))  // the log does not exist yet
            }
        }
    }
}

