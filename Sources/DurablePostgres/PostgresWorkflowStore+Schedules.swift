import DurableExport
import DurableStorage
import PostgresNIO

/// Schedules on PostgreSQL: each state as JSON in `durable_schedules` (exact to the
/// millisecond), and as DBOS's `workflow_schedules` row, where DBOS's tools list it. Updates of
/// one schedule are ordered by a transaction advisory lock, which holds even before its row exists.
extension PostgresWorkflowStore {
    public func schedules() async throws -> [ScheduleState] {
        try await run(nil) { [self] in
            try await query("SELECT state FROM \(unescaped: s).durable_schedules ORDER BY name").compactMap { row in
                try? Journal.decode(ScheduleState.self, try row.decode(String.self))
            }
        }
    }

    public func schedule(named name: String) async throws -> ScheduleState? {
        try await run(nil) { [self] in
            let rows = try await query("SELECT state FROM \(unescaped: s).durable_schedules WHERE name = \(name)")
            guard let row = rows.first else { return nil }
            guard let state = try? Journal.decode(ScheduleState.self, try row.decode(String.self)) else {
                throw WorkflowStoreError(.damaged, "the state of schedule \"\(name)\" does not decode")
            }
            return state
        }
    }

    public func updateSchedule(
        named name: String, _ update: @escaping @Sendable (ScheduleState?) -> ScheduleState?
    ) async throws {
        try await run(nil) { [self] in
            let app = options.applicationName
            try await transaction { connection in
                _ = try await connection.query(
                    "SELECT pg_advisory_xact_lock(\(self.lockKey(queue: "\u{1}schedule." + name)))",
                    logger: self.logger)
                let rows = try await connection.query(
                    "SELECT state FROM \(unescaped: self.s).durable_schedules WHERE name = \(name)", logger: self.logger
                ).collect()
                let current = rows.first.flatMap { try? Journal.decode(ScheduleState.self, try $0.decode(String.self)) }
                guard let next = update(current) else { return }
                _ = try await connection.query(
                    """
                    INSERT INTO \(unescaped: self.s).durable_schedules (name, state) VALUES (\(name), \(try Journal.encode(next)))
                    ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state
                    """, logger: self.logger)
                _ = try await connection.query(DBOSMapping.scheduleRow(next).upsert(into: self.s), logger: self.logger)
                _ = try await connection.query(
                    """
                    UPDATE \(unescaped: self.s).workflow_schedules SET application_name = \(app)
                    WHERE schedule_name = \(name)
                    """, logger: self.logger)
            }
        }
    }
}
