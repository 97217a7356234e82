import DurableStorage
import Logging
import PostgresNIO
import Synchronization

/// A store's own connection: it holds the session advisory lock that says the store (its
/// process) is alive, writes the heartbeat beside it, and listens for other processes'
/// wake-ups (`durable_wake`). The server drops the lock when the connection goes, so a killed
/// process's leases are free at once; a hung one's once its heartbeat is older than the
/// liveness timeout.
///
/// When the connection is lost it is made again with backoff; meanwhile other stores may take
/// this one for dead and take its workflows over, which fencing makes safe (this store's next
/// append fails as ``WorkflowStoreError/Code/ownershipLost``), and the store takes no new work
/// while its own liveness is not confirmed (``sinceConfirmed``).
final class ControlLink: Sendable {
    private let location: PostgresLocation
    private let schema: String
    private let instanceID: String
    private let board: WakeBoard
    private let heartbeat: Duration
    private let logger: Logger
    private let task = Locked<Task<Void, Never>?>(nil)
    /// When the liveness this store shows others was last confirmed (the lock taken, a heartbeat
    /// written); nil while it has none.
    private let confirmed = Locked<ContinuousClock.Instant?>(nil)
    /// Resumed once the first connection listens.
    private let listening = Locked<CheckedContinuation<Void, Never>?>(nil)

    init(store: PostgresWorkflowStore) {
        location = store.location
        schema = store.s
        instanceID = store.instanceID
        board = store.board
        heartbeat = store.options.heartbeatInterval
        logger = store.logger
    }

    /// Connects, registers the instance and listens, then keeps the connection up in the
    /// background. Returns once notifications reach the board (or after a few seconds).
    func connect() async throws {
        let connection = try await open()
        await withCheckedContinuation { continuation in
            listening.withLock { $0 = continuation }
            let loop = Task { [self] in await self.serve(connection) }
            task.withLock { $0 = loop }
            Task { [self] in
                try? await Task.sleep(for: .seconds(5))
                self.listening.withLock { $0.take() }?.resume()
            }
        }
    }

    /// How long ago this store's liveness was last confirmed to the database (nil: not now).
    var sinceConfirmed: Duration? {
        confirmed.withLock { $0 }.map { ContinuousClock.now - $0 }
    }

    /// Closes the connection (its lock goes with it) and stops reconnecting.
    func stop() {
        task.withLock { $0?.cancel() }
    }

    private func open() async throws -> PostgresConnection {
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(Int64(PostgresConnector.connectTimeout.components.seconds))
        // A hung statement or a half-open connection fails within seconds instead of hours.
        configuration.options.additionalStartupParameters =
            [("application_name", "swift-durable control"), ("statement_timeout", "10000")]
            + PostgresConnector.keepalives
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            // A fresh key on every connection: the session of a lost connection may still hold
            // the previous one until the server notices it is gone.
            var lockKey: Int64
            repeat {
                lockKey = Int64.random(in: 1...Int64.max)
            } while try await connection.query("SELECT pg_try_advisory_lock(\(lockKey))", logger: logger).collect()
                .first?.decode(Bool.self) != true
            _ = try await connection.query(
                """
                INSERT INTO \(unescaped: schema).durable_instances (instance_id, executor_id, lock_key, started_at,
                  heartbeat_at)
                VALUES (\(instanceID), '', \(lockKey), \(unescaped: Self.now), \(unescaped: Self.now))
                ON CONFLICT (instance_id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at,
                  lock_key = EXCLUDED.lock_key
                """, logger: logger)
            confirmed.withLock { $0 = .now }
            return connection
        } catch {
            try? await connection.close()
            throw error
        }
    }

    private static let now = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

    private func serve(_ first: PostgresConnection) async {
        var connection: PostgresConnection? = first
        var backoff: Duration = .milliseconds(100)
        while !Task.isCancelled {
            if let current = connection {
                await run(current)
                try? await current.close()
                connection = nil
                confirmed.withLock { $0 = nil }
                continue
            }
            try? await Task.sleep(for: backoff)
            do {
                connection = try await open()
                backoff = .milliseconds(100)
            } catch {
                logger.warning("swift-durable: cannot reconnect to PostgreSQL at \(location): \(error)")
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }

    /// Listens and beats on `connection` until it fails or the task is cancelled.
    private func run(_ connection: PostgresConnection) async {
        let (board, logger, schema, instanceID, heartbeat) = (board, logger, schema, instanceID, heartbeat)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                _ = try? await connection.listen(on: "durable_wake") { notifications in
                    // Listening now. What was missed before (after a reconnect) is unknown, so
                    // every waiter looks again.
                    board.signalAll()
                    self.listening.withLock { $0.take() }?.resume()
                    for try await notification in notifications {
                        if notification.payload == "*" { board.signalAll() } else { board.signal(notification.payload) }
                    }
                }
            }
            group.addTask { [self] in
                while !Task.isCancelled {
                    do {
                        try await Task.sleep(for: heartbeat)
                        _ = try await connection.query(
                            """
                            UPDATE \(unescaped: schema).durable_instances SET heartbeat_at = \(unescaped: Self.now)
                            WHERE instance_id = \(instanceID)
                            """, logger: logger)
                        self.confirmed.withLock { $0 = .now }
                    } catch {
                        return
                    }
                }
            }
            await group.next()
            // Whichever ended first, close the connection: that ends the other (a listen on a
            // connection the server terminated need not end on its own, and the group waits for it).
            try? await connection.close()
            group.cancelAll()
        }
    }
}
