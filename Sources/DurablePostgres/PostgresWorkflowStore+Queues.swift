import DurableExport
import DurableLog
import DurableStorage
import DurableWorkflows
import FoundationEssentials
import PostgresNIO
import Synchronization

/// Queues on PostgreSQL. Every enqueue with a deduplication ID and every dequeue decision is
/// taken in one transaction holding the queue's transaction advisory lock, so executors on any
/// machines decide one at a time; waiting rows are read in DBOS's order with `FOR UPDATE SKIP
/// LOCKED`. A run slot of a globally limited queue is a `PENDING` row of the queue whose lease
/// holder is alive (DBOS counts every `PENDING` row; a dead executor's slots come back here once
/// it is taken for dead rather than once its workflows are recovered).
extension PostgresWorkflowStore {
    public func enqueue(_ id: String, fields: WorkflowFields, events: [WorkflowEvent]) async throws -> EnqueueOutcome {
        try await run(id) { [self] in
            guard let queue = fields.queueName else {
                throw WorkflowStoreError(
                    .invalidArgument, "workflow \"\(id)\" is enqueued without a queue name", workflowID: id)
            }
            let token = UUID().uuidString.lowercased()
            let outcome = try await transaction { connection -> EnqueueOutcome in
                let exists = try await connection.query(
                    "SELECT 1 FROM \(unescaped: self.s).workflow_status WHERE workflow_uuid = \(id)",
                    logger: self.logger
                ).collect()
                if !exists.isEmpty { return .exists }
                if let deduplicationID = fields.deduplicationID {
                    _ = try await connection.query(
                        "SELECT pg_advisory_xact_lock(\(self.lockKey(queue: queue)))", logger: self.logger)
                    let holders = try await connection.query(
                        """
                        SELECT workflow_uuid FROM \(unescaped: self.s).workflow_status
                        WHERE queue_name = \(queue) AND deduplication_id = \(deduplicationID)
                        """, logger: self.logger)
                    for try await holder in holders.decode(String.self) { return .deduplicated(holder: holder) }
                }
                let sequence = try await connection.query(
                    "SELECT nextval(\(self.schema.dbos.qualified("durable_enqueue_seq"))::regclass)",
                    logger: self.logger
                ).collect()
                var fields = fields
                fields.enqueueSequence = try sequence.first?.decode(Int64.self)
                guard
                    try await self.insert(id, fields: fields, events: events, token: token, on: connection) != nil
                else { return .exists }
                // Created waiting: nobody holds it.
                _ = try await connection.query(
                    """
                    WITH ws AS (UPDATE \(unescaped: self.s).workflow_status SET owner_xid = NULL
                                WHERE workflow_uuid = \(id))
                    UPDATE \(unescaped: self.s).durable_workflows SET lease_token = NULL, lease_instance = NULL
                    WHERE workflow_uuid = \(id)
                    """, logger: self.logger)
                return .created
            }
            if outcome == .created {
                try await register(version: fields.applicationVersion, at: fields.createdAt ?? 0)
                try await notify([QueueKey.queue(queue)])
            }
            return outcome
        }
    }

    public func dequeue(_ request: DequeueRequest) async throws -> DequeueResult {
        try await run(nil) { [self] in
            let reserved = Reservations()
            let decided: (starts: [Start], wake: Int64?)
            do {
                decided = try await transaction { connection in
                    try await self.decide(request, reserving: reserved, on: connection)
                }
            } catch {
                let tokens = reserved.tokens.withLock { $0 }
                state.withLock { state in
                    for (id, token) in tokens where state.leases[id] == token { state.leases[id] = nil }
                }
                throw error
            }
            var result = DequeueResult(started: [], wakeAt: decided.wake)
            for start in decided.starts {
                let lease = hold(start.id, token: start.token, fields: start.fields)
                result.started.append(WorkflowClaim(lease: lease, events: start.events))
            }
            return result
        }
    }

    /// The leases a dequeue reserved in this store before its commit, by workflow ID.
    final class Reservations: Sendable {
        let tokens = Locked<[String: String]>([:])
    }

    /// A workflow a dequeue started.
    struct Start: Sendable {
        var id: String
        var token: String
        var fields: WorkflowFields
        var events: [WorkflowEvent]
    }

    /// The dequeue decision, under the queue's lock.
    ///
    /// Each workflow it starts is reserved in this store's leases before the commit, so a
    /// dequeue of this store that runs next (it waits for the queue's lock) counts it; `reserved`
    /// collects them, for the caller to drop if the transaction fails.
    private func decide(
        _ request: DequeueRequest, reserving reserved: Reservations, on connection: PostgresConnection
    ) async throws -> (starts: [Start], wake: Int64?) {
        let queue = request.queue
        _ = try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey(queue: queue.name)))", logger: logger)
        try checkLiveness()
        try await adoptEnqueued(queue: queue.name, on: connection)
        // Read under the queue's lock: every start of this store decided before is in it.
        let held = state.withLock { Array($0.leases.values) }
        let now = request.now()
        var running: [String: Int] = [:]
        if queue.concurrency != nil {
            let rows = try await connection.query(
                """
                SELECT COALESCE(ws.queue_partition_key, ''), count(*) FROM \(unescaped: s).workflow_status ws
                LEFT JOIN \(unescaped: s).durable_workflows dw USING (workflow_uuid)
                WHERE ws.queue_name = \(queue.name) AND ws.status = 'PENDING' AND ws.owner_xid IS NOT NULL
                  AND (ws.owner_xid IS DISTINCT FROM dw.lease_token OR ws.owner_xid = ANY(\(held))
                       OR (dw.lease_instance <> \(instanceID)
                           AND \(unescaped: s).durable_instance_alive(dw.lease_instance, \(livenessMilliseconds))))
                GROUP BY 1
                """, logger: logger)
            for try await (partition, count) in rows.decode((String, Int64).self) { running[partition] = Int(count) }
        }
        var recent: [String: [Int64]] = [:]
        if let period = queue.rateLimitPeriodMilliseconds, queue.rateLimit != nil {
            let rows = try await connection.query(
                """
                SELECT COALESCE(queue_partition_key, ''), started_at_epoch_ms FROM \(unescaped: s).workflow_status
                WHERE queue_name = \(queue.name) AND started_at_epoch_ms > \(now - period)
                ORDER BY started_at_epoch_ms
                """, logger: logger)
            for try await (partition, at) in rows.decode((String, Int64).self) {
                recent[partition, default: []].append(at)
            }
        }
        // Waiting, due, of this version, of a name this executor runs, and held by nobody alive
        // (a process may hold a waiting workflow to cancel it).
        let waiting: PostgresQuery = """
            ws.queue_name = \(queue.name) AND ws.status IN ('ENQUEUED', 'DELAYED')
              AND (ws.application_version IS NULL OR ws.application_version = \(request.applicationVersion))
            """
        let names = try await connection.query(
            PostgresQuery(
                unsafeSQL: "SELECT DISTINCT COALESCE(ws.name, '') FROM \(s).workflow_status ws WHERE \(waiting.sql)",
                binds: waiting.binds), logger: logger
        ).collect().map { try $0.decode(String.self) }.filter(request.canRun)
        var wake: Int64?
        let delayed = try await connection.query(
            """
            SELECT min(ws.delay_until_epoch_ms) FROM \(unescaped: s).workflow_status ws
            WHERE ws.queue_name = \(queue.name) AND ws.status IN ('ENQUEUED', 'DELAYED')
              AND ws.delay_until_epoch_ms > \(now) AND COALESCE(ws.name, '') = ANY(\(names))
            """, logger: logger
        ).collect()
        wake = try delayed.first?.decode(Int64?.self)
        let candidates = try await connection.query(
            """
            SELECT ws.workflow_uuid, COALESCE(ws.name, ''), COALESCE(ws.queue_partition_key, ''),
              ws.delay_until_epoch_ms, dw.fields, dw.event_seq, ws.status, ws.updated_at
            FROM \(unescaped: s).workflow_status ws JOIN \(unescaped: s).durable_workflows dw USING (workflow_uuid)
            WHERE ws.queue_name = \(queue.name) AND ws.status IN ('ENQUEUED', 'DELAYED') AND dw.corruption IS NULL
              AND (ws.application_version IS NULL OR ws.application_version = \(request.applicationVersion))
              AND COALESCE(ws.name, '') = ANY(\(names))
              AND (ws.delay_until_epoch_ms IS NULL OR ws.delay_until_epoch_ms <= \(now))
              AND (ws.owner_xid IS NULL
                   OR (ws.owner_xid = dw.lease_token AND NOT (ws.owner_xid = ANY(\(held)))
                       AND (dw.lease_instance = \(instanceID)
                            OR NOT \(unescaped: s).durable_instance_alive(dw.lease_instance, \(livenessMilliseconds)))))
            ORDER BY ws.priority, dw.enqueue_seq NULLS LAST, ws.created_at, ws.workflow_uuid
            LIMIT 1000 FOR NO KEY UPDATE OF ws SKIP LOCKED
            """, logger: logger
        ).collect()
        var started: [String: Int] = [:]
        var starts: [Start] = []
        for row in candidates {
            let (id, name, partition, delayUntil, fieldsText, seq, dbosStatus, updatedAt) = try row.decode(
                (String, String, String, Int64?, String, Int64, String, Int64).self)
            if let due = delayUntil, due > now {
                wake = min(wake ?? due, due)
                continue
            }
            guard request.canRun(name) else { continue }
            let count = started[partition, default: 0]
            if let limit = queue.workerConcurrency, request.runningHere[partition, default: 0] + count >= limit {
                continue
            }
            if let limit = queue.concurrency, running[partition, default: 0] + count >= limit { continue }
            if let limit = queue.rateLimit, let period = queue.rateLimitPeriodMilliseconds {
                let window = recent[partition, default: []]
                if window.count + count >= limit {
                    let freed = (window.count >= limit ? window[window.count - limit] : now) + period
                    wake = min(wake ?? freed, freed)
                    continue
                }
            }
            let recorded = try Self.fields(fieldsText, corruption: nil, status: nil, id: id)
            // Resumed by a DBOS client (ENQUEUED again on its internal queue): recorded as a resume.
            let fix = try await reconciliation(
                id, status: dbosStatus, updatedAt: updatedAt, queue: queue.name, fields: recorded, on: connection)
            var history = WorkflowHistory(workflowID: id)
            history.fields = recorded
            history.apply(Journal.expanded(fix))
            let fields = history.fields
            let token = UUID().uuidString.lowercased()
            guard
                state.withLock({ state -> Bool in
                    guard state.leases[id] == nil else { return false }
                    state.leases[id] = token
                    return true
                })
            else { continue }
            reserved.tokens.withLock { $0[id] = token }
            var delta = WorkflowFields()
            delta.updatedAt = now
            delta.status = .pending
            delta.executorID = request.executorID
            delta.startedAt = now
            delta.recoveryAttempts = (fields.recoveryAttempts ?? 0) + 1
            if (fields.applicationVersion ?? "").isEmpty { delta.applicationVersion = request.applicationVersion }
            delta.deadline = fields.deadline ?? fields.timeoutMilliseconds.map { now + $0 }
            _ = try await connection.query(
                """
                WITH ws AS (UPDATE \(unescaped: s).workflow_status SET owner_xid = \(token),
                              rate_limited = \(queue.rateLimit != nil) WHERE workflow_uuid = \(id))
                UPDATE \(unescaped: s).durable_workflows SET lease_token = \(token), lease_instance = \(instanceID)
                WHERE workflow_uuid = \(id)
                """, logger: logger)
            let events = try await journal(of: id, on: connection)
            let folded = try await record(
                fix + [.statusChanged(delta)], of: id, after: seq, fields: recorded, on: connection)
            started[partition, default: 0] = count + 1
            let recordedNow = Journal.expanded(fix) + [.statusChanged(delta)]
            starts.append(Start(id: id, token: token, fields: folded, events: events + recordedNow))
        }
        return (starts, wake)
    }

    /// The transaction advisory lock that orders decisions on `queue`: the first 8 bytes of a
    /// SHA-256 of the schema and the queue's name.
    func lockKey(queue: String) -> Int64 {
        let digest = SHA256.hash(Array("swift-durable.queue.\(schema.dbos.name).\(queue)".utf8))
        return digest.prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
    }

    public func recordQueue(_ configuration: QueueConfiguration) async throws {
        try await run(nil) { [self] in
            let app = options.applicationName
            try await transaction { connection in
                _ = try await connection.query(
                    """
                    INSERT INTO \(unescaped: self.s).durable_queues (name, configuration) VALUES (\(configuration.name), '{}')
                    ON CONFLICT (name) DO NOTHING
                    """, logger: self.logger)
                let rows = try await connection.query(
                    """
                    SELECT configuration FROM \(unescaped: self.s).durable_queues WHERE name = \(configuration.name)
                    FOR UPDATE
                    """, logger: self.logger)
                var merged = configuration
                for try await text in rows.decode(String.self) {
                    if let old = try? Journal.decode(QueueConfiguration.self, text) {
                        merged.workflowNames = Array(
                            Set(old.workflowNames ?? []).union(configuration.workflowNames ?? [])
                        ).sorted()
                    }
                }
                _ = try await connection.query(
                    """
                    UPDATE \(unescaped: self.s).durable_queues SET configuration = \(try Journal.encode(merged))
                    WHERE name = \(configuration.name)
                    """, logger: self.logger)
                guard let row = DBOSMapping.queueRow(configuration) else { return }
                let taken = try await connection.query(
                    """
                    SELECT 1 FROM \(unescaped: self.s).queues
                    WHERE name = \(configuration.name) AND application_name IS DISTINCT FROM \(app)
                    """, logger: self.logger
                ).collect()
                guard taken.isEmpty else { return }  // another application's queue of that name: left alone
                _ = try await connection.query(row.upsert(into: self.s), logger: self.logger)
                _ = try await connection.query(
                    "UPDATE \(unescaped: self.s).queues SET application_name = \(app) WHERE name = \(configuration.name)",
                    logger: self.logger)
            }
        }
    }

    public func queues() async throws -> [QueueSummary] {
        try await run(nil) { [self] in
            var configurations: [String: QueueConfiguration] = [:]
            for row in try await query("SELECT configuration FROM \(unescaped: s).durable_queues") {
                if let configuration = try? Journal.decode(QueueConfiguration.self, try row.decode(String.self)) {
                    configurations[configuration.name] = configuration
                }
            }
            let held = state.withLock { Array($0.leases.values) }
            let rows = try await query(
                """
                SELECT ws.queue_name, ws.queue_partition_key, ws.status, COALESCE(ws.name, ''),
                  (ws.status = 'PENDING' AND ws.owner_xid IS NOT NULL
                   AND (ws.owner_xid IS DISTINCT FROM dw.lease_token OR ws.owner_xid = ANY(\(held))
                        OR (dw.lease_instance <> \(instanceID)
                            AND \(unescaped: s).durable_instance_alive(dw.lease_instance, \(livenessMilliseconds))))),
                  count(*)
                FROM \(unescaped: s).workflow_status ws JOIN \(unescaped: s).durable_workflows dw USING (workflow_uuid)
                WHERE ws.queue_name IS NOT NULL GROUP BY 1, 2, 3, 4, 5
                """)
            var summaries: [String: QueueSummary] = [:]
            var partitions: [String: [String?: QueueSummary.Partition]] = [:]
            for (name, configuration) in configurations {
                summaries[name] = QueueSummary(name: name, configuration: configuration, partitions: [])
            }
            for row in rows {
                let (name, key, statusText, workflow, busy, count) = try row.decode(
                    (String, String?, String, String, Bool, Int64).self)
                let status = WorkflowStatus(rawValue: statusText)
                let n = Int(count)
                summaries[name, default: QueueSummary(name: name, configuration: nil, partitions: [])].name = name
                if status.isTerminal {
                    summaries[name]!.ended += n
                    continue
                }
                if status == .enqueued || status == .delayed, let known = configurations[name]?.workflowNames,
                    !known.contains(workflow)
                {
                    summaries[name]!.unservedWorkflows[workflow, default: 0] += n
                }
                var partition = partitions[name, default: [:]][key] ?? QueueSummary.Partition(key: key)
                switch status {
                case .enqueued: partition.enqueued += n
                case .delayed: partition.delayed += n
                default: partition.running += n
                }
                if busy { partition.busySlots = (partition.busySlots ?? 0) + n }
                partitions[name, default: [:]][key] = partition
            }
            return summaries.values.sorted { $0.name < $1.name }.map { summary in
                var summary = summary
                var list = Array((partitions[summary.name] ?? [:]).values)
                if list.isEmpty { list = [QueueSummary.Partition(key: nil)] }
                list.sort { ($0.key == nil ? 0 : 1, $0.key ?? "") < ($1.key == nil ? 0 : 1, $1.key ?? "") }
                for i in list.indices {
                    list[i].busySlots = summary.configuration?.concurrency == nil ? nil : list[i].busySlots ?? 0
                }
                summary.partitions = list
                return summary
            }
        }
    }

    public func queueVersion(_ queue: String) async -> UInt64 {
        board.version(QueueKey.queue(queue))
    }

    public func waitForQueue(_ queue: String, after version: UInt64, timeout: Duration) async {
        // Connected first, so another process's NOTIFY reaches this store's board.
        _ = try? await ready()
        await board.wait(QueueKey.queue(queue), after: version, timeout: min(timeout, options.pollInterval))
    }
}
