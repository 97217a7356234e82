import DurableLog
import DurableWorkflows

/// What the mapping needs besides a workflow's own history.
public struct DBOSMappingOptions: Sendable {
    /// Written to `application_name` (nil: unclaimed, visible to and claimable by every DBOS app).
    public var applicationName: String?
    /// The cron schedules of the directory: a workflow whose ID is one of their tick IDs
    /// (`sched-<name>-...`) gets `schedule_name`.
    public var scheduleNames: [String] = []

    /// The defaults: no application name, no schedules.
    public init(applicationName: String? = nil, scheduleNames: [String] = []) {
        self.applicationName = applicationName
        self.scheduleNames = scheduleNames
    }
}

/// The DBOS rows of one workflow.
public struct DBOSWorkflowRows: Sendable {
    /// Every row, `workflow_status` first.
    public var rows: [DBOSRow] = []

    /// The rows of `table`.
    public func rows(of table: DBOSTable) -> [DBOSRow] { rows.filter { $0.table == table } }
}

/// The mapping from a workflow's recorded history to DBOS 3.4's system tables (schema version
/// 125, `portable_json` on every payload), as the `Export` article tabulates it.
///
/// Pure: it reads nothing and writes nothing, so the SQL writer and a PostgreSQL backend share it.
public enum DBOSMapping {
    /// The `serialization` of every payload the export writes.
    public static let serialization = "portable_json"
    /// The stream item DBOS appends when a stream is closed.
    public static let streamClosedSentinel = "\"__DBOS_STREAM_CLOSED__\""
    /// The topic DBOS stores for a message sent without one.
    public static let nullTopic = "__null__topic__"
    /// A pickled `None` (protocol 4, base64): the context of a schedule, in the serializer DBOS
    /// Python uses by default for schedule contexts (the table has no serialization column).
    static let pickledNone = "gAROLg=="

    /// The rows of one workflow: status, input, output, operations, messages sent to it, events
    /// (latest and history) and streams.
    ///
    /// - Parameter messages: the workflow's inbox, in arrival order.
    public static func rows(
        for history: WorkflowHistory, messages: [InboxMessage], options: DBOSMappingOptions = .init()
    ) throws -> DBOSWorkflowRows {
        let f = history.fields
        let id = history.workflowID
        guard !id.isEmpty, let name = f.name else {
            throw ExportError(.incompleteHistory, "its log has no START record", workflowID: id)
        }
        let status = history.status
        let createdAt = f.createdAt ?? 0
        let updatedAt = max(f.updatedAt ?? createdAt, history.completedAt ?? 0)
        let steps = history.steps
        var result = DBOSWorkflowRows()
        result.rows.append(
            DBOSRow(
                .workflowStatus,
                [
                    .string(id), .string(status.rawValue), .string(name), .string(f.executorID), .bigint(createdAt),
                    .bigint(updatedAt),
                    .string(f.applicationVersion), .string(""), .bigint(f.recoveryAttempts ?? 0), .string(f.queueName),
                    .bigint(f.timeoutMilliseconds), .bigint(f.deadline), .bigint(f.startedAt),
                    .string(status.isTerminal ? nil : f.deduplicationID), .bigint(f.priority ?? 0),
                    .string(f.partitionKey),
                    .string(f.forkedFrom), .string(f.parentWorkflowID), .string(serialization), .bigint(f.delayUntil),
                    .bigint(status.isTerminal ? history.completedAt ?? updatedAt : nil), .string("null"),
                    .string(scheduleName(of: id, among: options.scheduleNames)), .bigint(f.debounceDeadline),
                    .boolean(f.isDebounced ?? false), .string(options.applicationName),
                ]))
        result.rows.append(
            DBOSRow(.workflowInput, [.string(id), .string(history.inputs ?? emptyInputs), .bigint(createdAt)]))
        if status.isTerminal, history.output != nil || history.error != nil {
            result.rows.append(
                DBOSRow(
                    .workflowOutput,
                    [
                        .string(id), .string(history.output), .string(try history.error.map(encode)),
                        .bigint(history.completedAt ?? updatedAt),
                    ]))
        }
        for step in steps { result.rows.append(try operationRow(step, of: id, options: options)) }
        result.rows += notificationRows(messages, to: id, steps: steps)
        for (key, value) in history.events.sorted(by: { $0.key < $1.key }) {
            result.rows.append(
                DBOSRow(.workflowEvents, [.string(id), .string(key), .string(value), .string(serialization)]))
        }
        for event in history.eventHistory {
            result.rows.append(
                DBOSRow(
                    .workflowEventsHistory,
                    [
                        .string(id), .int(event.functionID), .string(event.key), .string(event.value),
                        .string(serialization),
                    ]))
        }
        var offsets: [String: Int] = [:]
        for item in history.streamItems {
            let offset = offsets[item.key, default: 0]
            offsets[item.key] = offset + 1
            result.rows.append(
                DBOSRow(
                    .streams,
                    [
                        .string(id), .string(item.key),
                        .string(item.closes ? streamClosedSentinel : item.value ?? "null"),
                        .int(offset), .int(item.functionID), .string(serialization),
                    ]))
        }
        return result
    }

    /// The `queues` row of a queue an executor declared (DBOS keeps its internal queue in memory).
    public static func queueRow(_ queue: QueueConfiguration) -> DBOSRow? {
        guard queue.name != WorkflowQueue.internalQueueName else { return nil }
        return DBOSRow(
            .queues,
            [
                .string(stableUUID("queue", queue.name)), .string(queue.name), .int(queue.concurrency),
                .int(queue.workerConcurrency), .int(queue.rateLimit),
                queue.rateLimitPeriodMilliseconds.map { .real(Double($0) / 1000) } ?? .null, .boolean(true),
            ])
    }

    /// The `workflow_schedules` row of a cron schedule.
    public static func scheduleRow(_ schedule: ScheduleState) -> DBOSRow {
        DBOSRow(
            .workflowSchedules,
            [
                .string(stableUUID("schedule", schedule.name)), .string(schedule.name), .string(schedule.workflowName),
                .string(schedule.cron), .string(schedule.paused ? "PAUSED" : "ACTIVE"), .string(pickledNone),
                .string(schedule.lastFiredAtISO8601), .boolean(false), .string(schedule.timeZone),
                .string(schedule.queue),
            ])
    }

    /// The `application_versions` row of a version that workflows created from `firstSeen` to
    /// `lastSeen` (Unix ms) ran under: the latest time is its `version_timestamp`, so the version
    /// of the newest workflows is DBOS's latest.
    public static func applicationVersionRow(
        _ version: String, firstSeen: Int64, lastSeen: Int64, options: DBOSMappingOptions = .init()
    ) -> DBOSRow {
        DBOSRow(
            .applicationVersions,
            [
                .string(stableUUID("version", version)), .string(version), .bigint(lastSeen), .bigint(firstSeen),
                .string(options.applicationName),
            ])
    }

    /// A UUID-shaped identifier derived from `parts` (SHA-256, version 8), so a re-export names
    /// the same row the same way.
    public static func stableUUID(_ parts: String...) -> String {
        var bytes = Array(SHA256.hash(Array(parts.joined(separator: "\u{0}").utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0f) | 0x80
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        let hex = bytes.map { b in String(b >> 4, radix: 16) + String(b & 0xf, radix: 16) }.joined()
        let i = hex.startIndex
        func cut(_ a: Int, _ b: Int) -> Substring { hex[hex.index(i, offsetBy: a)..<hex.index(i, offsetBy: b)] }
        return "\(cut(0, 8))-\(cut(8, 12))-\(cut(12, 16))-\(cut(16, 20))-\(cut(20, 32))"
    }

    package static let emptyInputs = #"{"namedArgs":{},"positionalArgs":[]}"#

    /// DBOS records these operations with neither output nor serialization.
    private static let operationsWithoutOutput: Set<String> = [
        "send", "setEvent", "writeStream", "closeStream", "child",
    ]

    package static func operationRow(_ step: StepInfo, of id: String, options: DBOSMappingOptions) throws -> DBOSRow {
        let error = try step.error.map(encode)
        let output = error != nil || operationsWithoutOutput.contains(step.kind) ? nil : step.output ?? "null"
        return DBOSRow(
            .operationOutputs,
            [
                .string(id), .int(step.functionID), .string(step.name), .string(output), .string(error),
                .string(step.childWorkflowID),
                .bigint(step.startedAt), .bigint(step.completedAt),
                .string(output == nil && error == nil ? nil : serialization),
                .string(options.applicationName), .bigint(step.completedAt),
            ])
    }

    static func notificationRows(_ messages: [InboxMessage], to id: String, steps: [StepInfo]) -> [DBOSRow] {
        var consumedBy: [String: Int] = [:]
        for step in steps where step.kind == "recv" { if let key = step.key { consumedBy[key] = step.functionID } }
        return messages.map { message in
            let consumer = consumedBy[message.id]
            return DBOSRow(
                .notifications,
                [
                    .string(stableUUID("message", id, message.id)), .string(id), .string(message.topic ?? nullTopic),
                    .string(message.value),
                    .bigint(message.sentAt), .string(serialization), .boolean(consumer != nil), .int(consumer),
                ])
        }
    }

    /// The schedule whose tick IDs (`sched-<name>-<time>`) include `id`, the longest name first.
    static func scheduleName(of id: String, among names: [String]) -> String? {
        guard id.hasPrefix("sched-") else { return nil }
        return names.filter { id.hasPrefix("sched-\($0)-") }.max { $0.utf8.count < $1.utf8.count }
    }

    /// DBOS's portable error object.
    package static func encode(_ error: PortableError) throws -> String {
        String(decoding: try PortableJSON.encode(error), as: UTF8.self)
    }
}
