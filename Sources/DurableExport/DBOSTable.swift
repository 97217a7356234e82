/// A DBOS system table the export writes, with the columns it fills and how a re-export merges.
public struct DBOSTable: Sendable, Hashable, CustomStringConvertible {
    /// The table's name inside the DBOS schema.
    public let name: String
    /// The columns the export fills, in the order of ``DBOSRow/values``.
    public let columns: [String]
    /// The primary key (or unique key) a re-export conflicts on.
    public let conflictKey: [String]
    /// The column naming the workflow a row belongs to (nil for queues and schedules).
    let workflowColumn: String?

    public var description: String { name }

    /// One row per workflow.
    public static let workflowStatus = DBOSTable(
        name: "workflow_status",
        columns: [
            "workflow_uuid", "status", "name", "executor_id", "created_at", "updated_at", "application_version",
            "application_id", "recovery_attempts", "queue_name", "workflow_timeout_ms", "workflow_deadline_epoch_ms",
            "started_at_epoch_ms", "deduplication_id", "priority", "queue_partition_key", "forked_from",
            "parent_workflow_id", "serialization", "delay_until_epoch_ms", "completed_at", "attributes",
            "schedule_name", "debounce_deadline_epoch_ms", "is_debounced", "application_name",
        ],
        conflictKey: ["workflow_uuid"], workflowColumn: "workflow_uuid")
    /// The workflow's inputs.
    public static let workflowInput = DBOSTable(
        name: "workflow_input", columns: ["workflow_uuid", "inputs", "retention_timestamp"],
        conflictKey: ["workflow_uuid"], workflowColumn: "workflow_uuid")
    /// The workflow's output or error, once it ended.
    public static let workflowOutput = DBOSTable(
        name: "workflow_output", columns: ["workflow_uuid", "output", "error", "retention_timestamp"],
        conflictKey: ["workflow_uuid"], workflowColumn: "workflow_uuid")
    /// One row per completed step or DBOS operation.
    public static let operationOutputs = DBOSTable(
        name: "operation_outputs",
        columns: [
            "workflow_uuid", "function_id", "function_name", "output", "error", "child_workflow_id",
            "started_at_epoch_ms", "completed_at_epoch_ms", "serialization", "application_name", "retention_timestamp",
        ],
        conflictKey: ["workflow_uuid", "function_id"], workflowColumn: "workflow_uuid")
    /// Messages sent to workflows.
    public static let notifications = DBOSTable(
        name: "notifications",
        columns: [
            "message_uuid", "destination_uuid", "topic", "message", "created_at_epoch_ms", "serialization", "consumed",
            "consumed_by_function_id",
        ],
        conflictKey: ["message_uuid"], workflowColumn: "destination_uuid")
    /// The latest value of each event key.
    public static let workflowEvents = DBOSTable(
        name: "workflow_events", columns: ["workflow_uuid", "key", "value", "serialization"],
        conflictKey: ["workflow_uuid", "key"], workflowColumn: "workflow_uuid")
    /// Every value each event key had, by the `DBOS.setEvent` that set it.
    public static let workflowEventsHistory = DBOSTable(
        name: "workflow_events_history", columns: ["workflow_uuid", "function_id", "key", "value", "serialization"],
        conflictKey: ["workflow_uuid", "function_id", "key"], workflowColumn: "workflow_uuid")
    /// Stream items, with the close sentinel.
    public static let streams = DBOSTable(
        name: "streams", columns: ["workflow_uuid", "key", "value", "offset", "function_id", "serialization"],
        conflictKey: ["workflow_uuid", "key", "offset"], workflowColumn: "workflow_uuid")
    /// Registered queues and their limits.
    public static let queues = DBOSTable(
        name: "queues",
        columns: [
            "queue_id", "name", "concurrency", "worker_concurrency", "rate_limit_max", "rate_limit_period_sec",
            "priority_enabled",
        ],
        conflictKey: ["name"], workflowColumn: nil)
    /// Cron schedules.
    public static let workflowSchedules = DBOSTable(
        name: "workflow_schedules",
        columns: [
            "schedule_id", "schedule_name", "workflow_name", "schedule", "status", "context", "last_fired_at",
            "automatic_backfill", "cron_timezone", "queue_name",
        ],
        conflictKey: ["schedule_name"], workflowColumn: nil)

    /// The application versions the workflows ran under (DBOS's version registry).
    public static let applicationVersions = DBOSTable(
        name: "application_versions",
        columns: ["version_id", "version_name", "version_timestamp", "created_at", "application_name"],
        conflictKey: ["version_name"], workflowColumn: nil)

    /// Every table, in the order rows are loaded (`workflow_status` first: the others refer to it).
    public static let all: [DBOSTable] = [
        .workflowStatus, .workflowInput, .workflowOutput, .operationOutputs, .notifications, .workflowEvents,
        .workflowEventsHistory, .streams, .queues, .workflowSchedules, .applicationVersions,
    ]
}

/// A row of one DBOS system table.
public struct DBOSRow: Sendable, Equatable {
    /// The table it belongs to.
    public var table: DBOSTable
    /// One value per column of ``DBOSTable/columns``.
    public var values: [SQLValue]

    /// A row; `values` must match the table's columns one to one.
    public init(_ table: DBOSTable, _ values: [SQLValue]) {
        precondition(values.count == table.columns.count, "\(table) rows have \(table.columns.count) values")
        self.table = table
        self.values = values
    }

    /// The value of `column`.
    public subscript(column: String) -> SQLValue {
        guard let index = table.columns.firstIndex(of: column) else { return .null }
        return values[index]
    }
}
