import DurableStorage
import FoundationEssentials
import Synchronization

extension DurableEngine {
    /// Sends `value` to workflow `destination` on `topic` (from outside any workflow, from this
    /// process or any other). The message is durable when this returns; the recipient's
    /// ``WorkflowContext/recv(topic:as:timeout:)`` wakes at once, in any process.
    ///
    /// - Parameter idempotencyKey: messages with the same key are delivered at most once
    ///   (a random key is used when none is given).
    public func send<Value: Encodable & Sendable>(
        to destination: String, topic: String? = nil, _ value: Value, idempotencyKey: String? = nil
    ) async throws {
        let json = try WorkflowJSON.encodeText(value)
        try checkPayload(json, "the message", workflowID: destination)
        try await storage.sendMessage(
            to: destination, topic: topic, json: json, idempotencyKey: idempotencyKey,
            at: configuration.clock.nowMilliseconds())
    }

    func deliver(_ message: InboxMessage, to destination: String) async throws {
        try checkPayload(message.value, "the message", workflowID: destination)
        try await storage.deliverMessage(message, to: destination)
    }
}

extension WorkflowContext {
    /// Sends `value` to workflow `destination` as a recorded operation (`DBOS.send`): replay
    /// does not send again, and a send interrupted by a crash is delivered at most once.
    public func send<Value: Encodable & Sendable>(
        to destination: String, topic: String? = nil, _ value: Value
    ) async throws {
        try WorkflowJSON.checkedName(topic, what: "the topic")
        guard let engine else {
            throw WorkflowError("this context has no engine", workflowID: workflowID, code: .notServing)
        }
        let json = try WorkflowJSON.encodeText(value)
        let messageID = "\(workflowID)-\(nextPosition)"
        let clock = clock
        _ = try await operation(kind: "send", name: "DBOS.send", retry: .none, key: destination, topic: topic ?? "") {
            try await engine.deliver(
                InboxMessage(id: messageID, topic: topic, value: json, sentAt: clock.nowMilliseconds()),
                to: destination)
            return "null"
        }
    }

    /// Receives the oldest message on `topic` not yet received by this workflow, waiting up to
    /// `timeout`; `nil` on timeout.
    ///
    /// Messages sent before the call are kept, in order. The deadline is recorded (`DBOS.sleep`)
    /// before waiting and the received message (`DBOS.recv`) after, so replay neither waits
    /// again nor receives a different message. A message from another process wakes the
    /// workflow through the file watcher, with no polling interval.
    public func recv<Value: Decodable & Sendable>(
        topic: String? = nil, as type: Value.Type = Value.self, timeout: Duration = .seconds(60)
    ) async throws -> Value? {
        try await checkCancellation()
        let recvID = takePositions(2)
        let sleepID = recvID + 1
        if let recorded = try replayed(recvID, kind: "recv", name: "DBOS.recv", topic: topic ?? "") {
            return try decodeMessage(recorded.output, as: type)
        }
        guard let engine, let inbox else {
            throw WorkflowError("this context has no engine", workflowID: workflowID, code: .notServing)
        }
        try await append([])  // a pending recovery attempt is recorded before anything new happens
        let wakeMilliseconds = try await recordedDeadline(at: sleepID, after: timeout)
        let startedAt = clock.nowMilliseconds()
        let message = try await engine.waitForMessage(
            to: workflowID, topic: topic, excluding: consumedMessages, cleared: clearedControls,
            until: min(wakeMilliseconds, deadline ?? Int64.max), clock: clock, reader: inbox)
        if message == nil { try await checkCancellation() }  // the workflow's deadline may have ended the wait
        try await record(
            OperationRecord(
                functionID: recvID, name: "DBOS.recv", kind: "recv", output: message?.value ?? "null", error: nil,
                startedAt: startedAt, completedAt: clock.nowMilliseconds(), attempts: 1, key: message?.id,
                topic: topic ?? ""))
        return try decodeMessage(message?.value, as: type)
    }

    private func decodeMessage<Value: Decodable>(_ json: String?, as type: Value.Type) throws -> Value? {
        guard let json, json != "null" else { return nil }
        return try WorkflowJSON.decode(Value.self, fromText: json)
    }
}

/// What a workflow has read of its inbox so far: each look reads and decodes only what arrived
/// since the previous one (a workflow runs one operation at a time, so one reader per context).
final class InboxReader: Sendable {
    private struct State {
        var follower: (any StoreFollower<InboxItem>)?
        var messages: [InboxMessage] = []
        var cancels: [String] = []
    }

    private let storage: any WorkflowStore
    private let workflowID: String
    private let state = Locked(State())

    init(storage: any WorkflowStore, workflowID: String) {
        self.storage = storage
        self.workflowID = workflowID
    }

    /// Whether something may have arrived since the latest look, told from memory (no I/O).
    var mayHaveNews: Bool { state.withLock { $0.follower }?.mayHaveAppends() ?? true }

    /// Reads what arrived since the latest look.
    ///
    /// - Throws: ``WorkflowStoreError/Code/damaged`` if the inbox is damaged.
    func refresh() async throws {
        let follower = try await self.follower()
        let batch = try await follower.read()
        state.withLock { s in
            if batch.restarted {  // the inbox was read again from its start
                s.messages = []
                s.cancels = []
            }
            for item in batch.elements {
                switch item {
                case .message(let message): s.messages.append(message)
                case .control(let control) where control.action == ControlRequest.cancel: s.cancels.append(control.id)
                case .control: continue
                }
            }
        }
    }

    /// The oldest message read on `topic` whose ID is not in `consumed`.
    func oldestMessage(topic: String?, excluding consumed: Set<String>) -> InboxMessage? {
        state.withLock { s in s.messages.first { $0.topic == topic && !consumed.contains($0.id) } }
    }

    /// Whether a cancel request not voided by `cleared` was read.
    func cancelRequested(cleared: Set<String>) -> Bool {
        state.withLock { s in s.cancels.contains { !cleared.contains($0) } }
    }

    /// Returns once something may have arrived after the latest look, or after `timeout`.
    func waitForNews(timeout: Duration) async {
        guard let follower = try? await follower() else {
            try? await Task.sleep(for: timeout)
            return
        }
        await follower.waitForAppend(timeout: timeout)
    }

    private func follower() async throws -> any StoreFollower<InboxItem> {
        if let follower = state.withLock({ $0.follower }) { return follower }
        let created = try await storage.followInbox(of: workflowID)
        return state.withLock { s in
            if let follower = s.follower { return follower }
            s.follower = created
            return created
        }
    }
}

extension DurableEngine {
    /// The oldest message on `topic` in `id`'s inbox not in `consumed`, waiting (woken by the
    /// store) until `wake` (Unix ms on `clock`); nil on timeout.
    func waitForMessage(
        to id: String, topic: String?, excluding consumed: Set<String>, cleared: Set<String>, until wake: Int64,
        clock: any DurableClock, reader: InboxReader
    ) async throws -> InboxMessage? {
        while true {
            try Task.checkCancellation()
            try await reader.refresh()
            if reader.cancelRequested(cleared: cleared) { throw WorkflowCancelledError(workflowID: id) }
            if let message = reader.oldestMessage(topic: topic, excluding: consumed) { return message }
            let remaining = wake - clock.nowMilliseconds()
            if remaining <= 0 { return nil }
            // Woken by the store; waking at least every second bounds any lost wake-up.
            await reader.waitForNews(timeout: .milliseconds(min(remaining, 1000)))
        }
    }
}
