import DurableExport
import DurableStorage
import Logging
import PostgresNIO

/// The DBOS system schema a PostgreSQL store works in: checked, and created where it is missing,
/// as DBOS's own migrations would leave it (version 125), plus the few tables of swift-durable's
/// own that DBOS has no column for (the event journal, leases, executor liveness).
///
/// A schema DBOS already created at version 125 is used as it is. One at another version is
/// refused with ``WorkflowStoreError/Code/incompatible`` and left untouched: an older one needs
/// `dbos migrate`, a newer one a newer swift-durable. Creation and checks run under DBOS's own
/// migration lock, so a DBOS process migrating the same database at the same moment waits.
struct SystemSchema: Sendable {
    /// The schema version swift-durable's own tables are at (`durable_meta.schema_version`).
    static let ownVersion = 1
    /// The advisory lock DBOS's migrations hold (dbos/_sys_db_postgres.py), shared so that
    /// swift-durable and DBOS never create or migrate one schema at once.
    static let migrationLock: Int64 = 1_234_567_890

    let dbos: DBOSSchema

    init(name: String) throws {
        do {
            dbos = try DBOSSchema(name: name)
        } catch {
            throw WorkflowStoreError(.invalidArgument, "the schema name must be 1 to 63 bytes without NUL")
        }
    }

    /// The schema as a quoted identifier, for splicing into SQL.
    var identifier: String { dbos.identifier }

    /// What preparing found.
    enum Outcome: Equatable, Sendable {
        /// The schema was there at version 125 (made by DBOS or by an earlier store).
        case found
        /// The schema was missing; it was created at version 125.
        case created
    }

    /// Checks the schema, creating it where it is missing; throws
    /// ``WorkflowStoreError/Code/incompatible`` for one this build cannot use.
    func prepare(_ client: PostgresClient, logger: Logger) async throws -> Outcome {
        try await client.withConnection { connection in
            _ = try await connection.query("SELECT pg_advisory_lock(\(Self.migrationLock))", logger: logger)
            do {
                let outcome = try await prepareLocked(connection, logger: logger)
                _ = try await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLock))", logger: logger)
                return outcome
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLock))", logger: logger)
                throw error
            }
        }
    }

    private func prepareLocked(_ connection: PostgresConnection, logger: Logger) async throws -> Outcome {
        let name = dbos.name
        var outcome = Outcome.found
        switch try await version(connection, logger: logger) {
        case nil:
            try await connection.withTransaction(logger: logger) { transaction in
                for statement in dbos.creationStatements {
                    _ = try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
            }
            outcome = .created
        case DBOSSchema.version?:
            break
        case let found? where found < DBOSSchema.version:
            throw WorkflowStoreError(
                .incompatible,
                "the DBOS system schema \(name) is at version \(found), older than \(DBOSSchema.version): upgrade it with dbos migrate (DBOS 3.4)"
            )
        case let found?:
            throw WorkflowStoreError(
                .incompatible,
                "the DBOS system schema \(name) is at version \(found), newer than \(DBOSSchema.version), which this build speaks: use a swift-durable that supports it"
            )
        }
        let sharded = try await connection.query(
            """
            SELECT count(*) FROM information_schema.columns
             WHERE table_schema = \(name) AND table_name = 'workflow_status' AND column_name = 'shard_key'
            """, logger: logger
        ).decode(Int64.self).reduce(0, +)
        if sharded > 0 {
            throw WorkflowStoreError(
                .incompatible, "the DBOS system schema \(name) is sharded, which swift-durable does not support")
        }
        try await prepareOwnTables(connection, logger: logger)
        return outcome
    }

    /// The version `dbos_migrations` records, or nil where there is no DBOS schema (DBOS reads a
    /// missing table or row as no schema too).
    private func version(_ connection: PostgresConnection, logger: Logger) async throws -> Int? {
        let table = dbos.qualified("dbos_migrations")
        let present = try await connection.query("SELECT to_regclass(\(table)) IS NOT NULL", logger: logger)
            .decode(Bool.self).reduce(false) { $0 || $1 }
        guard present else { return nil }
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT max(version) FROM \(table)"), logger: logger)
        for try await version in rows.decode(Int64?.self) { return version.map(Int.init) }
        return nil
    }

    /// Creates swift-durable's own tables beside DBOS's, or checks the ones there.
    private func prepareOwnTables(_ connection: PostgresConnection, logger: Logger) async throws {
        let s = identifier
        let meta = dbos.qualified("durable_meta")
        let present = try await connection.query("SELECT to_regclass(\(meta)) IS NOT NULL", logger: logger)
            .decode(Bool.self).reduce(false) { $0 || $1 }
        if present {
            let rows = try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT value FROM \(meta) WHERE key = 'schema_version'"), logger: logger)
            var found: String?
            for try await value in rows.decode(String.self) { found = value }
            if let found, let version = Int(found), version > Self.ownVersion {
                throw WorkflowStoreError(
                    .incompatible,
                    "swift-durable's tables in schema \(dbos.name) are at version \(version), newer than this build's \(Self.ownVersion)"
                )
            }
            if found != nil { return }
        }
        let statements = [
            "CREATE TABLE IF NOT EXISTS \(meta) (key text PRIMARY KEY, value text NOT NULL)",
            """
            CREATE TABLE IF NOT EXISTS \(s).durable_instances (
                instance_id text PRIMARY KEY,
                executor_id text NOT NULL,
                lock_key bigint NOT NULL UNIQUE,
                started_at bigint NOT NULL,
                heartbeat_at bigint NOT NULL)
            """,
            """
            CREATE TABLE IF NOT EXISTS \(s).durable_workflows (
                workflow_uuid text PRIMARY KEY REFERENCES \(s).workflow_status(workflow_uuid)
                    ON UPDATE CASCADE ON DELETE CASCADE,
                lease_token text,
                lease_instance text,
                event_seq bigint NOT NULL DEFAULT 0,
                inbox_seq bigint NOT NULL DEFAULT 0,
                enqueue_seq bigint,
                corruption text,
                fields text NOT NULL)
            """,
            """
            CREATE TABLE IF NOT EXISTS \(s).durable_events (
                workflow_uuid text NOT NULL REFERENCES \(s).workflow_status(workflow_uuid)
                    ON UPDATE CASCADE ON DELETE CASCADE,
                seq bigint NOT NULL,
                kind text NOT NULL,
                body text NOT NULL,
                PRIMARY KEY (workflow_uuid, seq))
            """,
            """
            CREATE TABLE IF NOT EXISTS \(s).durable_inbox (
                destination_uuid text NOT NULL REFERENCES \(s).workflow_status(workflow_uuid)
                    ON UPDATE CASCADE ON DELETE CASCADE,
                seq bigint NOT NULL,
                item_id text NOT NULL,
                body text NOT NULL,
                PRIMARY KEY (destination_uuid, seq),
                UNIQUE (destination_uuid, item_id))
            """,
            "CREATE TABLE IF NOT EXISTS \(s).durable_queues (name text PRIMARY KEY, configuration text NOT NULL)",
            "CREATE TABLE IF NOT EXISTS \(s).durable_schedules (name text PRIMARY KEY, state text NOT NULL)",
            "CREATE SEQUENCE IF NOT EXISTS \(s).durable_enqueue_seq",
            // Whether an open store (a process) is alive: it holds its session advisory lock on its
            // control connection, which the server drops with the connection, and its heartbeat is
            // recent (a half-open connection keeps the lock until TCP gives up).
            """
            CREATE OR REPLACE FUNCTION \(s).durable_instance_alive(p_instance text, p_ttl_ms bigint)
            RETURNS boolean LANGUAGE sql STABLE SET search_path TO 'pg_catalog', 'pg_temp' AS $durable_alive$
              SELECT EXISTS (
                SELECT 1 FROM \(s).durable_instances i JOIN pg_locks l
                  ON l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                 AND l.classid = ((i.lock_key >> 32) & 4294967295)::oid
                 AND l.objid = (i.lock_key & 4294967295)::oid
                WHERE i.instance_id = p_instance
                  AND i.heartbeat_at >= (extract(epoch FROM clock_timestamp()) * 1000)::bigint - p_ttl_ms)
            $durable_alive$
            """,
            "INSERT INTO \(meta) (key, value) VALUES ('schema_version', '\(Self.ownVersion)') ON CONFLICT (key) DO NOTHING",
        ]
        try await connection.withTransaction(logger: logger) { transaction in
            for statement in statements {
                _ = try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        }
    }
}
