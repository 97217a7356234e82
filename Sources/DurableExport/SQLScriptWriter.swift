/// Writes DBOS rows as one psql-loadable SQL script.
///
/// The script is one transaction: it checks (or creates) the DBOS schema, bulk-loads the rows
/// with `COPY` into temporary staging tables, then merges them into the real tables, so a load
/// that fails anywhere leaves the database as it was. Merging makes a re-export idempotent and
/// incremental:
///
/// - a `workflow_status` row is replaced only by one at least as recent (`updated_at`), so
///   state that DBOS itself advanced after an earlier export is never rolled back;
/// - the other rows of a workflow (input, output, operations, messages, events, streams) are
///   written only for workflows whose status row this load wrote, replacing earlier copies
///   (messages are merged by ID: one sent to the workflow in DBOS since is kept);
/// - queues and schedules are replaced by name; application versions are only added, dated so
///   that none becomes newer than a version the database already had.
///
/// Rows are buffered per table and flushed as `COPY` blocks every ``flushThreshold`` bytes, so
/// memory stays bounded however many workflows are written.
public struct SQLScriptWriter: ~Copyable {
    /// What to write into: called with consecutive chunks of the script.
    public typealias Sink = ([UInt8]) throws -> Void

    /// Buffered COPY data above which the buffers are written out.
    public var flushThreshold = 4 << 20

    let schema: DBOSSchema
    let sink: Sink
    private var buffers: [DBOSTable: [UInt8]] = [:]
    private var buffered = 0
    private var started = false

    /// A writer for `schema`; `createSchema` adds the statements that create it if missing.
    public init(schema: DBOSSchema, createSchema: Bool, header: String, sink: @escaping Sink) throws {
        self.schema = schema
        self.sink = sink
        var text = header.split(separator: "\n", omittingEmptySubsequences: false).map { "-- \($0)" }.joined(
            separator: "\n")
        text += """

            \\set ON_ERROR_STOP on
            SET client_encoding = 'UTF8';
            SET standard_conforming_strings = on;
            BEGIN;

            """
        if createSchema { text += schema.creation }
        text += schema.versionCheck
        for table in DBOSTable.all {
            text +=
                "CREATE TEMPORARY TABLE \(Self.stage(table)) (LIKE \(schema.qualified(table.name)) INCLUDING DEFAULTS) ON COMMIT DROP;\n"
        }
        try write(text)
    }

    /// Adds `rows` (of one workflow, or a queue or schedule row).
    ///
    /// - Throws: ``ExportError/Code/unrepresentable`` if a value holds NUL; nothing of `rows` is kept then.
    public mutating func add(_ rows: [DBOSRow], workflowID: String? = nil) throws {
        var encoded: [(DBOSTable, [UInt8])] = []
        for row in rows {
            var line: [UInt8] = []
            line.reserveCapacity(256)
            for (index, value) in row.values.enumerated() {
                if index > 0 { line.append(0x09) }
                guard SQLText.appendCopyField(value, to: &line) else {
                    throw ExportError(
                        .unrepresentable, "a value of \(row.table.name).\(row.table.columns[index]) contains NUL",
                        workflowID: workflowID)
                }
            }
            line.append(0x0a)
            encoded.append((row.table, line))
        }
        for (table, line) in encoded {
            buffers[table, default: []] += line
            buffered += line.count
        }
        if buffered >= flushThreshold { try flush() }
    }

    /// Writes the buffered rows as `COPY` blocks.
    public mutating func flush() throws {
        for table in DBOSTable.all {
            guard let data = buffers[table], !data.isEmpty else { continue }
            let columns = table.columns.map(SQLText.identifier).joined(separator: ", ")
            try write("COPY \(Self.stage(table)) (\(columns)) FROM STDIN;\n")
            try sink(data)
            try write("\\.\n")
        }
        buffers = [:]
        buffered = 0
    }

    /// Flushes, merges the staged rows into the DBOS tables and commits.
    public consuming func finish() throws {
        try flush()
        try write(mergeStatements() + "COMMIT;\n")
    }

    private func write(_ text: String) throws { try sink(Array(text.utf8)) }

    static func stage(_ table: DBOSTable) -> String { "durable_stage_\(table.name)" }

    func mergeStatements() -> String {
        let status = DBOSTable.workflowStatus
        let statusTable = schema.qualified(status.name)
        var sql =
            "\n-- Merge: a status row wins if it is at least as recent; a workflow's other rows follow its status row.\n"
        sql += upsert(status, winsIf: "\(statusTable).updated_at <= EXCLUDED.updated_at")
        sql += """
            CREATE TEMPORARY TABLE durable_written ON COMMIT DROP AS
                SELECT s.workflow_uuid FROM \(Self.stage(status)) s JOIN \(statusTable) w USING (workflow_uuid)
                WHERE w.updated_at = s.updated_at AND w.status IS NOT DISTINCT FROM s.status;
            UPDATE \(statusTable) SET was_forked_from = true
                WHERE workflow_uuid IN (SELECT forked_from FROM \(Self.stage(status)) WHERE forked_from IS NOT NULL);

            """
        for table in DBOSTable.all {
            guard let column = table.workflowColumn, table != status else { continue }
            let written = "\(SQLText.identifier(column)) IN (SELECT workflow_uuid FROM durable_written)"
            if table != .notifications {  // messages are keyed by their own ID; others may have been sent since
                sql += "DELETE FROM \(schema.qualified(table.name)) WHERE \(written);\n"
            }
            sql += upsert(table, staged: written)
        }
        let queues = DBOSTable.queues
        sql += upsert(queues)
        sql += """
            UPDATE \(schema.qualified(queues.name)) q SET partition_queue = true
                WHERE q.name IN (SELECT name FROM \(Self.stage(queues)))
                AND EXISTS (SELECT 1 FROM \(statusTable) w WHERE w.queue_name = q.name AND w.queue_partition_key IS NOT NULL);

            """
        sql += upsert(.workflowSchedules)
        // Versions are added, never retimed or demoted: a version already registered (by DBOS or
        // an earlier export) is left as it is, and a new one is dated before every version this
        // export does not name, so a running DBOS deployment stays the latest version (it alone
        // dequeues version-less work).
        let versions = DBOSTable.applicationVersions
        let registry = schema.qualified(versions.name), staged = Self.stage(versions)
        let list = versions.columns.map(SQLText.identifier).joined(separator: ", ")
        sql += """
            INSERT INTO \(registry) (\(list))
                SELECT version_id, version_name, LEAST(version_timestamp,
                        COALESCE((SELECT min(r.version_timestamp) - 1 FROM \(registry) r
                            WHERE r.version_name NOT IN (SELECT version_name FROM \(staged))), version_timestamp)),
                    created_at, application_name
                FROM \(staged)
                ON CONFLICT DO NOTHING;

            """
        return sql
    }

    /// `INSERT ... SELECT ... ON CONFLICT DO UPDATE`: the staged rows of `table` (those matching
    /// `staged`, if given) replace the rows they conflict with (those for which `winsIf` holds, if
    /// given), column by column.
    private func upsert(_ table: DBOSTable, staged: String? = nil, winsIf: String? = nil) -> String {
        let list = table.columns.map(SQLText.identifier).joined(separator: ", ")
        let replaced = table.columns.filter { !table.conflictKey.contains($0) }.map(SQLText.identifier)
            .map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
        return """
            INSERT INTO \(schema.qualified(table.name)) (\(list))
                SELECT \(list) FROM \(Self.stage(table))\(staged.map { " WHERE \($0)" } ?? "")
                ON CONFLICT (\(table.conflictKey.map(SQLText.identifier).joined(separator: ", "))) DO UPDATE SET \(replaced)\(winsIf.map { " WHERE \($0)" } ?? "");

            """
    }
}
