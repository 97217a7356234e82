import DurableLog

/// What a log-watching wait decides after each look at the log.
enum WaitDecision<T> {
    case done(T)
    case keepWaiting
}

/// Waits on other workflows' logs, shared by ``DurableEngine`` and ``DurableClient``: results,
/// events and streams, from this process or any other, without a polling interval.
extension LogStore {
    /// Re-reads workflow `id`'s log whenever it changes until `decide` is done or `deadline`
    /// (monotonic ns) passes; returns `nil` on timeout.
    func waitForLog<T: Sendable>(
        of id: String, until deadline: UInt64?, _ decide: (WorkflowHistory) throws -> WaitDecision<T?>
    ) async throws -> T? {
        // Follows the log with a cursor: each wake-up reads and decodes only what was appended.
        var cursor = try logCursor(name: id)
        var history = WorkflowHistory(workflowID: id)
        let watcher = watcher()
        while true {
            try Task.checkCancellation()
            if let corruption = index.entry(forWorkflowID: id)?.fields.corruption {
                throw QuarantinedWorkflowError(workflowID: id, reason: corruption)
            }
            // Read the version before the log, so a change in between ends the wait at once.
            let version = try? watcher.version(of: cursor.path)
            let resets = cursor.resets
            var records: [LogRecord]?
            if version != nil {
                do {
                    records = try await readNewRecords(&cursor)
                } catch {
                    // A damaged log never heals by itself: end the wait instead of waiting forever.
                    // Beside a live writer, what looks damaged may be a multi-page append a read
                    // overtook (pages land in order, but a read can see a later page before an
                    // earlier one); only a log nobody writes is judged, and it is read again first.
                    if error.code == .corrupted, (try? await leaseIsHeld(name: id)) == false {
                        var fresh = try logCursor(name: id)
                        do {
                            _ = try await readNewRecords(&fresh)
                        } catch {
                            if error.code == .corrupted {
                                throw QuarantinedWorkflowError(workflowID: id, reason: error.message)
                            }
                        }
                    }
                }
            }
            if let records {
                if cursor.resets != resets { history = WorkflowHistory(workflowID: id) }  // read again from the start
                try history.apply(records)
                if cursor.lastSeq > 0, case .done(let value) = try decide(history) { return value }
            }
            if let deadline, FileWatcher.deadline(after: .zero) >= deadline { return nil }
            if let version {
                // inotify wakes the wait at once; the re-check at least every second bounds the
                // damage of any lost wake-up (a dropped event, an unwatchable file system).
                let recheck = FileWatcher.deadline(after: .seconds(1))
                await watcher.wait(for: cursor.path, after: version, until: min(deadline ?? recheck, recheck))
            } else {
                try await Task.sleep(for: .milliseconds(2))  // the log does not exist yet
            }
        }
    }

    /// Waits for workflow `id` to end and returns its output JSON, or throws its recorded error.
    /// `blocked` reports an error that the caller knows keeps the workflow from progressing
    /// (checked on each look), which is then thrown.
    func outputJSON(of id: String, blocked: () -> (any Error)? = { nil }) async throws -> String {
        if index.entry(forWorkflowID: id) == nil {
            // Not known here yet: another process's index update, or (after a crash) only its log.
            try await refreshIndex()
            if index.entry(forWorkflowID: id) == nil, (try? await read(name: id)) == nil {
                throw WorkflowError("no workflow has this ID", workflowID: id, code: .notFound)
            }
        }
        let outcome: Result<String, PortableError>? = try await waitForLog(of: id, until: nil) { history in
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
        try await waitForLog(of: id, until: FileWatcher.deadline(after: timeout)) { history in
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

extension DurableEngine {
    /// Waits for workflow `id` to finish and returns its output JSON, or throws its error.
    /// Once an `fsync` failed, a wait ends with that error: nothing can finish any more.
    func outputJSON(of id: String) async throws -> String {
        if let execution = runningExecution(id) {
            let outcome = await execution.wait()
            if case .failure = outcome, let fatal = store.fatalError { throw fatal }
            return try outcome.get()
        }
        return try await store.outputJSON(of: id) { blockedReason(id) ?? store.fatalError as (any Error)? }
    }
}
