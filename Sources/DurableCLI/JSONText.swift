import DurableLog
import DurableWorkflows

/// A minimal JSON value for the CLI's output (keys keep their order; strings are escaped).
indirect enum JSONText: Sendable {
    case string(String)
    case number(Int)
    case bool(Bool)
    case null
    case array([JSONText])
    case object([(String, JSONText)])
    /// JSON text recorded by the engine, inserted as it is.
    case raw(String)

    var rendered: String {
        switch self {
        case .string(let s): return Self.quote(s)
        case .number(let n): return String(n)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let items): return "[" + items.map(\.rendered).joined(separator: ",") + "]"
        case .object(let pairs):
            return "{" + pairs.map { Self.quote($0.0) + ":" + $0.1.rendered }.joined(separator: ",") + "}"
        case .raw(let json): return json
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// The set fields of an index delta.
    static func fields(_ f: IndexFields) -> JSONText {
        var pairs: [(String, JSONText)] = []
        func add(_ key: String, _ value: String?) { if let value { pairs.append((key, .string(value))) } }
        func add(_ key: String, _ value: Int64?) { if let value { pairs.append((key, .number(Int(value)))) } }
        add("workflowID", f.workflowID)
        add("status", f.status?.rawValue)
        add("name", f.name)
        add("queueName", f.queueName)
        add("applicationVersion", f.applicationVersion)
        add("executorID", f.executorID)
        add("createdAt", f.createdAt)
        add("updatedAt", f.updatedAt)
        add("startedAt", f.startedAt)
        add("parentWorkflowID", f.parentWorkflowID)
        add("recoveryAttempts", f.recoveryAttempts)
        add("priority", f.priority)
        add("deduplicationID", f.deduplicationID)
        add("partitionKey", f.partitionKey)
        add("timeoutMilliseconds", f.timeoutMilliseconds)
        add("deadline", f.deadline)
        add("delayUntil", f.delayUntil)
        add("forkedFrom", f.forkedFrom)
        add("corruption", f.corruption)
        if !f.attributes.isEmpty {
            pairs.append(
                ("attributes", .object(f.attributes.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        return .object(pairs)
    }
}

extension JSONText {
    /// A workflow listing row.
    static func summary(_ w: WorkflowSummary) -> JSONText {
        .object([
            ("workflowID", .string(w.workflowID)), ("name", .string(w.name)), ("status", .string(w.status.rawValue)),
            ("createdAt", .number(Int(w.createdAt))), ("updatedAt", .number(Int(w.updatedAt))),
            ("applicationVersion", w.applicationVersion.map(JSONText.string) ?? .null),
            ("executorID", w.executorID.map(JSONText.string) ?? .null),
            ("queueName", w.queueName.map(JSONText.string) ?? .null),
            ("recoveryAttempts", .number(w.recoveryAttempts)), ("error", w.errorName.map(JSONText.string) ?? .null),
            ("quarantined", w.corruption.map(JSONText.string) ?? .null),
        ])
    }

    /// One step of a trace.
    static func step(_ s: StepInfo) -> JSONText {
        .object([
            ("functionID", .number(s.functionID)), ("name", .string(s.name)), ("kind", .string(s.kind)),
            ("output", s.output.map(JSONText.string) ?? .null),
            (
                "error",
                s.error.map { .object([("name", .string($0.name)), ("message", .string($0.message))]) } ?? .null
            ),
            ("startedAt", .number(Int(s.startedAt))), ("completedAt", .number(Int(s.completedAt))),
            ("attempts", .number(s.attempts)),
            ("childWorkflowID", s.childWorkflowID.map(JSONText.string) ?? .null),
            ("key", s.key.map(JSONText.string) ?? .null),
        ])
    }
}

extension JSONText {
    static func queue(_ q: QueueSummary) -> JSONText {
        let optional = { (value: Int?) -> JSONText in value.map { .number($0) } ?? .null }
        let c = q.configuration
        return .object([
            ("name", .string(q.name)),
            ("concurrency", optional(c?.concurrency)),
            ("workerConcurrency", optional(c?.workerConcurrency)),
            ("rateLimit", optional(c?.rateLimit)),
            ("rateLimitPeriodMs", optional(c?.rateLimitPeriodMilliseconds.map(Int.init))),
            ("ended", .number(q.ended)),
            ("unserved", .object(q.unservedWorkflows.sorted { $0.key < $1.key }.map { ($0.key, .number($0.value)) })),
            (
                "partitions",
                .array(
                    q.partitions.map { p in
                        .object([
                            ("key", p.key.map { .string($0) } ?? .null), ("enqueued", .number(p.enqueued)),
                            ("delayed", .number(p.delayed)),
                            ("running", .number(p.running)), ("busySlots", optional(p.busySlots)),
                        ])
                    })
            ),
        ])
    }
}
