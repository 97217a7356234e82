/// What a wait on a workflow's history decides after each look at it.
enum WaitDecision<T> {
    case done(T)
    case keepWaiting
}

/// Waits on other workflows' histories, shared by ``DurableEngine`` and ``DurableClient``:
/// results, events and streams, from this process or any other, without a polling interval.
extension WorkflowStore {
    /// Follows workflow `id`'s history until `decide` is done (returning its value) or
    /// `timeout` passes (returning nil).
    ///
    /// - Parameter mustExist: throw ``WorkflowError/Code/notFound`` if the first read finds no
    ///   history and the store knows no such workflow (rather than wait for one to appear).
    /// - Throws: ``QuarantinedWorkflowError`` once the workflow is known to be damaged: its
    ///   history never heals, so the wait would never end.
    func waitForHistory<T: Sendable>(
        of id: String, timeout: Duration? = nil, mustExist: Bool = false,
        _ decide: (WorkflowHistory) throws -> WaitDecision<T?>
    ) async throws -> T? {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        let follower = try await follow(id)
        var history = WorkflowHistory(workflowID: id)
        var seen = false
        while true {
            try Task.checkCancellation()
            let batch: StoreBatch<WorkflowEvent>
            do {
                batch = try await follower.read()
            } catch {
                if let damaged = error as? WorkflowStoreError, damaged.code == .damaged {
                    throw QuarantinedWorkflowError(workflowID: id, reason: damaged.message)
                }
                throw error
            }
            if batch.restarted { history = WorkflowHistory(workflowID: id) }
            history.apply(batch.elements)
            if mustExist, !seen, batch.elements.isEmpty, try await fields(of: id) == nil {
                throw WorkflowError("no workflow has this ID", workflowID: id, code: .notFound)
            }
            seen = seen || !batch.elements.isEmpty
            if seen, case .done(let value) = try decide(history) { return value }
            // The store wakes the wait at once; waking at least every second bounds the damage
            // of any lost wake-up (a dropped inotify event, an unwatchable file system).
            var wait = Duration.seconds(1)
            if let deadline {
                let remaining = deadline - .now
                if remaining <= .zero { return nil }
                wait = min(wait, remaining)
            }
            await follower.waitForAppend(timeout: wait)
        }
    }

    /// Waits for workflow `id` to end and returns its output JSON, or throws its recorded error.
    /// `blocked` reports an error that the caller knows keeps the workflow from progressing
    /// (checked on each look), which is then thrown.
    func outputJSON(of id: String, blocked: () -> (any Error)? = { nil }) async throws -> String {
        let outcome: Result<String, PortableError>? = try await waitForHistory(of: id, mustExist: true) { history in
            if let error = blocked() { throw error }
            guard history.status.isTerminal else { return .keepWaiting }
            if history.status == .success { return .done(.success(history.output ?? "null")) }
            return .done(
                .failure(
                    history.error
                        ?? PortableError(
                            name: history.status.rawValue, message: "the workflow ended with status \(history.status)"))
            )
        }
        return try outcome!.get()
    }

    /// Waits up to `timeout` for workflow `id` to set event `key`; its latest value's JSON text,
    /// or `nil` on timeout or if the workflow ended without setting it.
    func eventJSON(of id: String, key: String, timeout: Duration) async throws -> String? {
        try await waitForHistory(of: id, timeout: timeout) { history in
            if let value = history.events[key] { return .done(value) }
            return history.status.isTerminal ? .done(nil) : .keepWaiting
        }
    }

    /// Follows stream `key` of workflow `id` from `offset` until it is closed or the workflow ends.
    func followStream<Value: Decodable & Sendable>(
        of id: String, key: String, from offset: Int, as type: Value.Type
    ) -> AsyncThrowingStream<Value, any Error> {
        AsyncThrowingStream { continuation in
            let reader = Task {
                do {
                    var next = offset
                    _ = try await waitForHistory(of: id) { history -> WaitDecision<Bool?> in
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

extension DurableEngine {
    /// Waits for workflow `id` to finish and returns its output JSON, or throws its error.
    /// Once an `fsync` failed, a wait ends with that error: nothing can finish any more.
    func outputJSON(of id: String) async throws -> String {
        if let execution = runningExecution(id) {
            let outcome = await execution.wait()
            if case .failure = outcome, let fatal = storage.failure { throw fatal }
            return try outcome.get()
        }
        return try await storage.outputJSON(of: id) { blockedReason(id) ?? storage.failure }
    }
}
