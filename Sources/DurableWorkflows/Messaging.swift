import DurableLog
import FoundationEssentials
import Synchronization

extension LogStore {
    /// The messages in workflow `id`'s inbox, in arrival order, read on the calling thread
    /// (for tools that run on a thread of their own; never call it from the cooperative pool).
    ///
    /// - Throws: a ``StorageError`` with code `corrupted` if the inbox is damaged.
    public func inboxMessagesBlocking(of id: String) throws -> [InboxMessage] {
        try readInboxBlocking(name: id).compactMap { record in
            guard case .message(let message) = try InboxCodec.item(from: record) else { return nil }
            return message
        }
    }
}

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
        _ = try await operation(kind: "send", name: "DBOS.send", retry: .none, key: destination) {
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
        if let recorded = try replayed(recvID, kind: "recv", name: "DBOS.recv") {
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
            until: min(wakeMilliseconds, deadline ?? Int64.max), clock: clock, follower: inbox)
        if message == nil { try await checkCancellation() }  // the workflow's deadline may have ended the wait
        try await record(
            OperationRecord(
                functionID: recvID, name: "DBOS.recv", kind: "recv", output: message?.value ?? "null", error: nil,
                startedAt: startedAt, completedAt: clock.nowMilliseconds(), attempts: 1, key: message?.id))
        return try decodeMessage(message?.value, as: type)
    }

    private func decodeMessage<Value: Decodable>(_ json: String?, as type: Value.Type) throws -> Value? {
        guard let json, json != "null" else { return nil }
        return try WorkflowJSON.decode(Value.self, fromText: json)
    }
}

/// What a workflow has read of its inbox so far: each `recv` reads and decodes only what arrived
/// since the previous look (a workflow runs one operation at a time, so one follower per context).
final class InboxFollower: Sendable {
    private struct State {
        var cursor: LogCursor
        var messages: [InboxMessage] = []
        var cancels: [String] = []
    }

    private let state: Locked<State>

    init(cursor: LogCursor) { state = Locked(State(cursor: cursor)) }

    /// Reads new records, then returns the oldest message on `topic` not in `consumed`, and
    /// whether a cancel request not voided by `cleared` is present.
    func look(
        in store: LogStore, topic: String?, excluding consumed: Set<String>, cleared: Set<String>
    ) async throws -> (message: InboxMessage?, cancelRequested: Bool) {
        var cursor = state.withLock { $0.cursor }
        let resets = cursor.resets
        let records = try await store.readNewRecords(&cursor)
        var messages: [InboxMessage] = []
        var cancels: [String] = []
        for record in records {
            switch try? InboxCodec.item(from: record) {
            case .control(let control) where control.action == ControlRequest.cancel: cancels.append(control.id)
            case .message(let message): messages.append(message)
            default: continue
            }
        }
        let next = cursor
        return state.withLock { s in
            if next.resets != resets {  // the inbox was read again from its start
                s.messages = []
                s.cancels = []
            }
            s.cursor = next
            s.messages += messages
            s.cancels += cancels
            return (
                s.messages.first { $0.topic == topic && !consumed.contains($0.id) },
                s.cancels.contains { !cleared.contains($0) }
            )
        }
    }
}

extension DurableEngine {
    /// The oldest message on `topic` in `id`'s inbox not in `consumed`, waiting (on the file
    /// watcher) until `wake` (Unix ms on `clock`); nil on timeout.
    func waitForMessage(
        to id: String, topic: String?, excluding consumed: Set<String>, cleared: Set<String>, until wake: Int64,
        clock: any DurableClock,
        follower: InboxFollower
    ) async throws -> InboxMessage? {
        try store.ensureInboxExists(name: id)
        let path = try store.inboxPath(name: id)
        let watcher = store.watcher()
        while true {
            try Task.checkCancellation()
            let version = try watcher.version(of: path)
            let (message, cancelRequested) = try await follower.look(
                in: store, topic: topic, excluding: consumed, cleared: cleared)
            if cancelRequested { throw WorkflowCancelledError(workflowID: id) }
            if let message { return message }
            let remaining = wake - clock.nowMilliseconds()
            if remaining <= 0 { return nil }
            // Woken by inotify; the re-check at least every second bounds any lost wake-up.
            await watcher.wait(
                for: path, after: version, until: FileWatcher.deadline(after: .milliseconds(min(remaining, 1000))))
        }
    }
}
