import DurableExport
import DurableStorage
import FoundationEssentials
import Logging
import PostgresNIO
import Synchronization

/// The storage protocol on a DBOS-compatible PostgreSQL: many executors, on many machines, share
/// one database, and DBOS's own tools and apps read the same rows.
///
/// Every workflow is a row of DBOS's `workflow_status` with its DBOS rows (inputs, outputs,
/// operations, messages, events, streams) written as DBOS 3.4 writes them, in `portable_json`,
/// plus swift-durable's journal of its events (`durable_events`) in the same transaction, from
/// which histories read back exactly. The lease on a workflow is DBOS's fencing column
/// `owner_xid`, checked under a row lock by every append; whether its holder is alive is the
/// holder's session advisory lock, kept on a dedicated connection with a heartbeat (see the
/// `BackendDesign` article).
///
/// The store connects on first use; it never blocks a thread of Swift's cooperative pool
/// (postgres-nio runs on its own event loops).
public final class PostgresWorkflowStore: WorkflowStore {
    /// How a store behaves.
    public struct Options: Sendable {
        /// Written to `application_name` on every row, so DBOS apps of other names leave these
        /// workflows alone (DBOS claims rows without one).
        public var applicationName = "swift-durable"
        /// The longest a wait goes without looking at the database (DBOS writers do not notify
        /// every change).
        public var pollInterval: Duration = .seconds(1)
        /// How often the store's heartbeat is written.
        public var heartbeatInterval: Duration = .seconds(5)
        /// A store whose heartbeat is older than this is taken for dead (its leases are fenced).
        public var livenessTimeout: Duration = .seconds(30)

        /// The defaults.
        public init() {}
    }

    /// Where the store keeps its workflows.
    public let location: PostgresLocation
    let options: Options
    let schema: SystemSchema
    let client: PostgresClient
    let logger: Logger
    /// This open store's identity in `durable_instances`.
    let instanceID = UUID().uuidString.lowercased()
    let board = WakeBoard()
    private let running: Task<Void, Never>
    let state = Locked(State())

    struct State {
        var startup: Task<Void, any Error>?
        var control: ControlLink?
        /// Lease tokens this store holds now, by workflow ID.
        var leases: [String: String] = [:]
        /// The application versions this store registered in DBOS's `application_versions`.
        var versions: Set<String> = []
    }

    /// The schema as a quoted identifier, for splicing into SQL.
    var s: String { schema.identifier }

    /// A store on `location` (nothing is connected until it is first used).
    public init(location: PostgresLocation, options: Options = Options(), logger: Logger? = nil) throws {
        self.location = location
        self.options = options
        schema = try SystemSchema(name: location.schema)
        let logger = logger ?? Logger(label: "swift-durable.postgres") { _ in SwiftLogNoOpLogHandler() }
        self.logger = logger
        let client = PostgresConnector.client(for: location, logger: logger)
        self.client = client
        running = Task { await client.run() }
    }

    /// A store on the database at `url` (a `postgresql://` URL, as `DURABLE_DATABASE_URL` holds).
    public convenience init(url: String, options: Options = Options(), logger: Logger? = nil) throws {
        try self.init(location: PostgresLocation(url: url), options: options, logger: logger)
    }

    deinit {
        let control = state.withLock { $0.control }
        control?.stop()
        running.cancel()
    }

    // MARK: Startup and errors

    /// Connects, prepares the schema and registers this store as a live instance, once.
    func ready() async throws {
        let task = state.withLock { state -> Task<Void, any Error> in
            if let startup = state.startup { return startup }
            let startup = Task { try await self.start() }
            state.startup = startup
            return startup
        }
        do {
            try await task.value
        } catch {
            state.withLock { if $0.startup == task { $0.startup = nil } }
            throw error
        }
    }

    private func start() async throws {
        try await PostgresConnector.probe(location, logger: logger)
        _ = try await schema.prepare(client, logger: logger)
        let link = ControlLink(store: self)
        try await link.connect()
        state.withLock { $0.control = link }
    }

    /// Runs `body` once the store is ready, with every error as a ``WorkflowStoreError``.
    ///
    /// The body runs in a task of its own, which the caller's cancellation does not reach:
    /// postgres-nio fails every request of a cancelled task at once, and a cancelled workflow
    /// must still record its end (the file backend's I/O threads do not see cancellation either).
    func run<Result: Sendable>(
        _ id: String?, _ body: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        let work = Task {
            try await ready()
            return try await body()
        }
        do {
            return try await work.value
        } catch {
            throw PostgresConnector.translated(error, at: location, workflowID: id)
        }
    }

    /// Runs `body` in one transaction (retried on a deadlock or serialization failure).
    func transaction<Result: Sendable>(
        _ body: @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        var attempt = 0
        while true {
            do {
                return try await client.withTransaction(logger: logger) { connection in
                    try await body(connection)
                }
            } catch let error as PostgresTransactionError {
                if let closure = error.closureError, !Self.isRetryable(closure) || attempt >= 4 { throw closure }
                if error.closureError == nil { throw error }
                attempt += 1
            }
        }
    }

    static func isRetryable(_ error: any Error) -> Bool {
        guard let state = (error as? PSQLError)?.serverInfo?[.sqlState] else { return false }
        return state == "40P01" || state == "40001"
    }

    static func sqlState(of error: any Error) -> String? {
        if let error = error as? PostgresTransactionError, let inner = error.closureError { return sqlState(of: inner) }
        return (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    func query(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await client.query(query, logger: logger).collect()
    }

    var livenessMilliseconds: Int64 { Int64(options.livenessTimeout.components.seconds * 1000) }

    /// Throws ``WorkflowStoreError/Code/unavailable`` while this store's own liveness is not
    /// confirmed for the liveness timeout: others may have taken it for dead, so it starts nothing
    /// new (what it runs is fenced).
    func checkLiveness() throws {
        let since = state.withLock { $0.control }?.sinceConfirmed
        guard let since, since < options.livenessTimeout else {
            throw WorkflowStoreError(
                .unavailable,
                "this process has lost its liveness connection to PostgreSQL at \(location); it takes no new work until it reconnects"
            )
        }
    }

    // MARK: Creating and claiming

    public func create(
        _ id: String, fields: WorkflowFields, events: [WorkflowEvent]
    ) async throws -> (any WorkflowLease)? {
        try await run(id) { [self] in
            let token = UUID().uuidString.lowercased()
            var named = fields
            named.workflowID = id
            let fields = named
            let created = try await transaction { connection in
                try await self.insert(id, fields: fields, events: events, token: token, on: connection)
            }
            guard let created else { return nil }
            try await register(version: fields.applicationVersion, at: fields.createdAt ?? 0)
            return hold(id, token: token, fields: created)
        }
    }

    /// Registers `version` in DBOS's `application_versions` (DBOS's clients look up the latest
    /// one), once per store; marked only once the row is committed.
    func register(version: String?, at time: Int64) async throws {
        guard let version, !version.isEmpty, !state.withLock({ $0.versions.contains(version) }) else { return }
        _ = try await query(
            """
            INSERT INTO \(unescaped: s).application_versions (version_id, version_name, version_timestamp,
              created_at, application_name)
            VALUES (\(DBOSMapping.stableUUID("version", version)), \(version), \(time), \(time),
              \(options.applicationName))
            ON CONFLICT DO NOTHING
            """)
        state.withLock { _ = $0.versions.insert(version) }
    }

    /// Inserts workflow `id` held by `token`; returns its folded fields, or nil if it exists.
    func insert(
        _ id: String, fields: WorkflowFields, events: [WorkflowEvent], token: String, on connection: PostgresConnection
    ) async throws -> WorkflowFields? {
        let app = options.applicationName
        let createdAt = fields.createdAt ?? 0
        let inserted = try await connection.query(
            """
            INSERT INTO \(unescaped: s).workflow_status (workflow_uuid, status, name, created_at, updated_at,
              application_id, application_name, serialization, attributes, owner_xid, creator_xid)
            VALUES (\(id), \(fields.status?.rawValue ?? "PENDING"), \(fields.name), \(createdAt),
              \(fields.updatedAt ?? createdAt), '', \(app), 'portable_json', 'null'::jsonb, \(token), \(token))
            ON CONFLICT (workflow_uuid) DO NOTHING RETURNING 1
            """, logger: logger
        ).collect()
        guard !inserted.isEmpty else { return nil }
        var inputs = DBOSMapping.emptyInputs
        for case .started(let start) in events { inputs = start.inputs }
        _ = try await connection.query(
            """
            INSERT INTO \(unescaped: s).workflow_input (workflow_uuid, inputs, retention_timestamp)
            VALUES (\(id), \(inputs), \(createdAt))
            """, logger: logger)
        _ = try await connection.query(
            """
            INSERT INTO \(unescaped: s).durable_workflows (workflow_uuid, lease_token, lease_instance, fields)
            VALUES (\(id), \(token), \(instanceID), '{}')
            """, logger: logger)
        return try await record(
            [.statusChanged(fields)] + events, of: id, after: 0, fields: WorkflowFields(), on: connection)
    }

    public func claim(_ id: String) async throws -> WorkflowClaim? {
        try await run(id) { [self] in
            let token = UUID().uuidString.lowercased()
            // Reserved before the transaction: two claims of one ID in this store never both win
            // (the database sees one instance for both).
            let reserved = state.withLock { state -> Bool in
                guard state.leases[id] == nil else { return false }
                state.leases[id] = token
                return true
            }
            guard reserved else { return nil }
            let claimed: ([WorkflowEvent], WorkflowFields)?
            do {
                claimed = try await claimRow(id, token: token)
            } catch {
                state.withLock { if $0.leases[id] == token { $0.leases[id] = nil } }
                throw error
            }
            guard let (events, fields) = claimed else {
                state.withLock { if $0.leases[id] == token { $0.leases[id] = nil } }
                return nil
            }
            return WorkflowClaim(lease: hold(id, token: token, fields: fields), events: events)
        }
    }

    /// Takes workflow `id`'s row for `token` (reserved in this store) unless a live holder has it.
    private func claimRow(_ id: String, token: String) async throws -> ([WorkflowEvent], WorkflowFields)? {
        try checkLiveness()
        return try await transaction { connection -> ([WorkflowEvent], WorkflowFields)? in
            let rows = try await connection.query(
                """
                SELECT ws.owner_xid, dw.lease_token, dw.lease_instance, dw.corruption, dw.fields,
                  CASE WHEN dw.lease_instance IS NULL OR dw.lease_instance = \(self.instanceID) THEN false
                       ELSE \(unescaped: self.s).durable_instance_alive(dw.lease_instance, \(self.livenessMilliseconds))
                  END,
                  ws.status, ws.updated_at, ws.queue_name, dw.event_seq
                FROM \(unescaped: self.s).workflow_status ws
                LEFT JOIN \(unescaped: self.s).durable_workflows dw USING (workflow_uuid)
                WHERE ws.workflow_uuid = \(id) FOR NO KEY UPDATE OF ws
                """, logger: self.logger
            ).collect()
            guard let row = rows.first else {
                throw WorkflowStoreError(.notFound, "no workflow has the ID \(id)", workflowID: id)
            }
            let (owner, leaseToken, leaseInstance, corruption, fieldsText, alive, status, updatedAt, queue, seq) =
                try row.decode(
                    (String?, String?, String?, String?, String?, Bool, String?, Int64, String?, Int64?).self)
            guard let fieldsText else { return nil }  // a DBOS app's workflow: not ours to run
            if let owner {
                guard owner == leaseToken else { return nil }  // a DBOS executor took it
                // This store's own earlier lease was released (it holds the reservation now).
                if leaseInstance != self.instanceID && alive { return nil }
            }
            if let corruption {
                throw WorkflowStoreError(
                    .damaged, "workflow \(id) is quarantined: \(corruption)", workflowID: id)
            }
            _ = try await connection.query(
                "UPDATE \(unescaped: self.s).workflow_status SET owner_xid = \(token) WHERE workflow_uuid = \(id)",
                logger: self.logger)
            _ = try await connection.query(
                """
                UPDATE \(unescaped: self.s).durable_workflows SET lease_token = \(token),
                  lease_instance = \(self.instanceID) WHERE workflow_uuid = \(id)
                """, logger: self.logger)
            var fields = try Journal.decode(WorkflowFields.self, fieldsText)
            let fix = try await self.reconciliation(
                id, status: status, updatedAt: updatedAt, queue: queue, fields: fields, on: connection)
            if !fix.isEmpty {  // a DBOS client cancelled or resumed it
                fields = try await self.record(fix, of: id, after: seq ?? 0, fields: fields, on: connection)
            }
            return (try await self.journal(of: id, on: connection), fields)
        }
    }

    /// Records that this store holds `id` under `token`, and returns the lease.
    func hold(_ id: String, token: String, fields: WorkflowFields) -> PostgresLease {
        state.withLock { $0.leases[id] = token }
        return PostgresLease(store: self, workflowID: id, token: token, fields: fields)
    }

    /// Forgets this store's lease `token` on `id`, and clears it in the database.
    func release(_ id: String, token: String, queue: String?) {
        let dropped = state.withLock { state -> Bool in
            guard state.leases[id] == token else { return false }
            state.leases[id] = nil
            return true
        }
        guard dropped else { return }
        if let queue { board.signal(QueueKey.queue(queue)) }
        let (s, logger, client) = (self.s, self.logger, self.client)
        Task {
            // The status row first, as claims and appends lock it.
            _ = try? await client.withTransaction(logger: logger) { connection in
                _ = try await connection.query(
                    """
                    UPDATE \(unescaped: s).workflow_status SET owner_xid = NULL
                    WHERE workflow_uuid = \(id) AND owner_xid = \(token)
                    """, logger: logger)
                _ = try await connection.query(
                    """
                    UPDATE \(unescaped: s).durable_workflows SET lease_token = NULL, lease_instance = NULL
                    WHERE workflow_uuid = \(id) AND lease_token = \(token)
                    """, logger: logger)
            }
            if let queue { _ = try? await client.query("SELECT pg_notify('durable_wake', \(QueueKey.queue(queue)))") }
        }
    }

    // MARK: Reading

    public func history(of id: String) async throws -> [WorkflowEvent] {
        try await run(id) { [self] in
            let exists = try await query(
                """
                SELECT dw.workflow_uuid IS NOT NULL FROM \(unescaped: s).workflow_status ws
                LEFT JOIN \(unescaped: s).durable_workflows dw USING (workflow_uuid) WHERE ws.workflow_uuid = \(id)
                """)
            guard let ours = try exists.first?.decode(Bool.self) else {
                throw WorkflowStoreError(.notFound, "no workflow has the ID \(id)", workflowID: id)
            }
            return try await client.withConnection { connection in
                ours
                    ? try await self.journal(of: id, on: connection)
                    : try await self.foreignHistory(of: id, on: connection)
            }
        }
    }

    /// The journal of `id` after position `after`, as events; a row that does not decode is
    /// ``WorkflowStoreError/Code/damaged``.
    func journal(of id: String, after: Int64 = 0, on connection: PostgresConnection) async throws -> [WorkflowEvent] {
        try await journalRows(of: id, after: after, on: connection).map(\.1).flatMap { $0 }
    }

    /// The journal rows of `id` after `after`: each position and its event.
    func journalRows(
        of id: String, after: Int64, on connection: PostgresConnection
    ) async throws -> [(Int64, [WorkflowEvent])] {
        let rows = try await connection.query(
            """
            SELECT seq, kind, body FROM \(unescaped: s).durable_events
            WHERE workflow_uuid = \(id) AND seq > \(after) ORDER BY seq
            """, logger: logger)
        var result: [(Int64, [WorkflowEvent])] = []
        for try await (seq, kind, body) in rows.decode((Int64, String, String).self) {
            do {
                result.append((seq, try Journal.events([Journal.Entry(kind: kind, body: body)])))
            } catch {
                throw WorkflowStoreError(
                    .damaged, "workflow \(id) has a journal entry (\(seq)) that cannot be read: \(error)",
                    workflowID: id)
            }
        }
        return result
    }

    public func fields(of id: String) async throws -> WorkflowFields? {
        try await run(id) { [self] in
            let rows = try await query(
                """
                SELECT ws.workflow_uuid, dw.fields, dw.corruption, \(unescaped: Self.statusColumns)
                FROM \(unescaped: s).workflow_status ws LEFT JOIN \(unescaped: s).durable_workflows dw USING (workflow_uuid)
                WHERE ws.workflow_uuid = \(id)
                """)
            return try summaryFields(rows).first
        }
    }

    /// The fields a `durable_workflows.fields` text holds, with the quarantine reason, and the
    /// status as DBOS's row has it (a DBOS cancel changes only that).
    static func fields(_ text: String, corruption: String?, status: String?, id: String) throws -> WorkflowFields {
        var fields: WorkflowFields
        do {
            fields = try Journal.decode(WorkflowFields.self, text)
        } catch {
            throw WorkflowStoreError(.damaged, "workflow \(id) has status fields that cannot be read", workflowID: id)
        }
        fields.workflowID = id
        if let corruption { fields.corruption = corruption }
        if let status { fields.status = WorkflowStatus(rawValue: status) }
        return fields
    }

    public func list(_ filter: WorkflowFilter) async throws -> [WorkflowSummary] {
        try await run(nil) { [self] in
            let statuses = filter.statuses.isEmpty ? nil : filter.statuses.map(\.rawValue).sorted()
            let order = filter.newestFirst ? "DESC" : "ASC"
            let version = filter.applicationVersion.map { $0.isEmpty ? nil : $0 }
            let rows = try await query(
                """
                SELECT ws.workflow_uuid, dw.fields, dw.corruption, \(unescaped: Self.statusColumns)
                FROM \(unescaped: s).workflow_status ws LEFT JOIN \(unescaped: s).durable_workflows dw USING (workflow_uuid)
                WHERE (\(statuses)::text[] IS NULL OR ws.status = ANY(\(statuses)::text[]))
                  AND (\(filter.name)::text IS NULL OR ws.name = \(filter.name))
                  AND (\(filter.idPrefix)::text IS NULL OR starts_with(ws.workflow_uuid, \(filter.idPrefix)))
                  AND (\(filter.createdAfter)::bigint IS NULL OR ws.created_at >= \(filter.createdAfter))
                  AND (\(filter.createdBefore)::bigint IS NULL OR ws.created_at < \(filter.createdBefore))
                  AND (\(filter.applicationVersion)::text IS NULL
                       OR ws.application_version IS NOT DISTINCT FROM \(version ?? nil))
                  AND (\(filter.parentWorkflowID)::text IS NULL OR ws.parent_workflow_id = \(filter.parentWorkflowID))
                ORDER BY ws.created_at \(unescaped: order), ws.workflow_uuid \(unescaped: order)
                OFFSET \(Int64(filter.offset)) LIMIT \(filter.limit.map(Int64.init))
                """)
            return try summaries(rows)
        }
    }

    func summaries(_ rows: [PostgresRow]) throws -> [WorkflowSummary] {
        try summaryFields(rows).map(WorkflowSummary.init)
    }

    /// The fields of rows selected as `workflow_uuid, dw.fields, dw.corruption,` then
    /// ``statusColumns``: swift-durable's own, or for a DBOS app's workflow, DBOS's columns.
    func summaryFields(_ rows: [PostgresRow]) throws -> [WorkflowFields] {
        try rows.map { row in
            let cells = row.makeRandomAccess()
            let id = try cells[0].decode(String.self)
            guard let text = try cells[1].decode(String?.self) else {
                return try Self.foreignFields(row, id: id, offset: 3)
            }
            return try Self.fields(
                text, corruption: try cells[2].decode(String?.self), status: try cells[3].decode(String?.self), id: id)
        }
    }

    public func recoverable(applicationVersion: String) async throws -> [WorkflowSummary] {
        try await run(nil) { [self] in
            // An executor launching: its version is registered before anything is created, so
            // a DBOS client enqueueing for this application finds it.
            try await register(version: applicationVersion, at: Int64(Date().timeIntervalSince1970 * 1000))
            let rows = try await query(
                """
                SELECT ws.workflow_uuid, dw.fields, dw.corruption, \(unescaped: Self.statusColumns)
                FROM \(unescaped: s).workflow_status ws JOIN \(unescaped: s).durable_workflows dw USING (workflow_uuid)
                WHERE ws.status = 'PENDING' AND dw.corruption IS NULL
                  AND (ws.application_version = \(applicationVersion) OR ws.application_version IS NULL)
                  AND (ws.owner_xid IS NULL OR (ws.owner_xid = dw.lease_token
                       AND (dw.lease_instance = \(instanceID)
                            OR NOT \(unescaped: s).durable_instance_alive(dw.lease_instance, \(livenessMilliseconds)))))
                ORDER BY ws.created_at, ws.workflow_uuid
                """)
            let held = state.withLock { $0.leases }
            return try summaries(rows).filter { held[$0.workflowID] == nil }
        }
    }

    // MARK: Damage, failure, repair, deletion

    public func quarantine(_ id: String, reason: String) async throws {
        try await run(id) { [self] in
            try await transaction { connection in
                // The status row first, as claims and appends lock it.
                let found = try await connection.query(
                    """
                    UPDATE \(unescaped: self.s).workflow_status SET deduplication_id = NULL
                    WHERE workflow_uuid = \(id) RETURNING 1
                    """, logger: self.logger
                ).collect()
                let marked = try await connection.query(
                    """
                    UPDATE \(unescaped: self.s).durable_workflows SET corruption = \(reason)
                    WHERE workflow_uuid = \(id) RETURNING 1
                    """, logger: self.logger
                ).collect()
                guard !found.isEmpty, !marked.isEmpty else {
                    throw WorkflowStoreError(.notFound, "no workflow has the ID \(id)", workflowID: id)
                }
            }
            try await notify([WakeKey.history(id), WakeKey.inbox(id)])
        }
    }

    /// PostgreSQL gives a client no sign that acknowledged writes were lost: the store never
    /// stops for good. A lost connection fails single requests as unavailable.
    public var failure: WorkflowStoreError? { nil }

    public func onFailure(_ handler: @escaping @Sendable (WorkflowStoreError) -> Void) {}

    public func repair(_ scope: RepairScope) async throws -> RepairReport {
        try await run(nil) { [self] in
            // Leases of stores that died on workflows that ended: cleared, so DBOS's tools see them free.
            _ = try await query(
                """
                WITH dead AS (
                  SELECT dw.workflow_uuid, dw.lease_token FROM \(unescaped: s).durable_workflows dw
                  WHERE dw.lease_instance IS NOT NULL AND dw.lease_instance <> \(instanceID)
                    AND NOT \(unescaped: s).durable_instance_alive(dw.lease_instance, \(livenessMilliseconds))),
                 ws AS (UPDATE \(unescaped: s).workflow_status w SET owner_xid = NULL FROM dead
                        WHERE w.workflow_uuid = dead.workflow_uuid AND w.owner_xid = dead.lease_token
                          AND w.status IN ('SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED'))
                SELECT 1
                """)
            return RepairReport()
        }
    }

    public func delete(_ ids: [String]) async throws -> [String] {
        try await run(nil) { [self] in
            let held = state.withLock { Array($0.leases.keys) }
            return try await transaction { connection in
                let rows = try await connection.query(
                    """
                    DELETE FROM \(unescaped: self.s).workflow_status ws USING (
                      SELECT w.workflow_uuid FROM \(unescaped: self.s).workflow_status w
                      JOIN \(unescaped: self.s).durable_workflows d USING (workflow_uuid)
                      WHERE w.workflow_uuid = ANY(\(ids))
                        AND w.status IN ('SUCCESS', 'ERROR', 'CANCELLED', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED')
                        AND NOT (w.workflow_uuid = ANY(\(held)))
                        AND NOT (w.owner_xid IS NOT NULL AND w.owner_xid = d.lease_token
                                 AND d.lease_instance <> \(self.instanceID)
                                 AND \(unescaped: self.s).durable_instance_alive(d.lease_instance, \(self.livenessMilliseconds)))
                      FOR UPDATE OF w SKIP LOCKED) doomed
                    WHERE ws.workflow_uuid = doomed.workflow_uuid RETURNING ws.workflow_uuid
                    """, logger: self.logger)
                var deleted: [String] = []
                for try await id in rows.decode(String.self) { deleted.append(id) }
                for table in ["workflow_input", "workflow_output", "operation_outputs"] {
                    _ = try await connection.query(
                        "DELETE FROM \(unescaped: self.s).\(unescaped: table) WHERE workflow_uuid = ANY(\(deleted))",
                        logger: self.logger)
                }
                return deleted
            }
        }
    }

    // MARK: Wake-ups

    /// Moves `keys` here at once and in every other store through `NOTIFY`.
    func notify(_ keys: [String]) async throws {
        for key in keys { board.signal(key) }
        _ = try await query("SELECT pg_notify('durable_wake', k) FROM unnest(\(keys.map(Self.payload))::text[]) AS k")
    }

    /// ``notify(_:)`` without waiting for the other stores' part: an append returns once it is
    /// committed, and a lost notification costs other processes at most a polling interval.
    func notifyInBackground(_ keys: [String]) {
        for key in keys { board.signal(key) }
        let (client, logger, payloads) = (client, logger, keys.map(Self.payload))
        Task {
            _ = try? await client.query(
                "SELECT pg_notify('durable_wake', k) FROM unnest(\(payloads)::text[]) AS k", logger: logger)
        }
    }

    /// A key as a notification payload (at most 8000 bytes; a longer one wakes every waiter).
    static func payload(_ key: String) -> String { key.utf8.count > 7_900 ? "*" : key }
}

/// The keys of the wake-up board, and of the payloads of `durable_wake` notifications.
enum WakeKey {
    static func history(_ id: String) -> String { "h:" + id }
    static func inbox(_ id: String) -> String { "i:" + id }
}

/// The wake-up key of a queue.
enum QueueKey {
    static func queue(_ name: String) -> String { "q:" + name }
}
