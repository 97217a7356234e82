import DurableStorage
import Logging
import PostgresNIO

/// Opens pooled connections to a ``PostgresLocation`` and says, in the store's own error terms,
/// what went wrong with one.
enum PostgresConnector {
    /// How long connecting may take before a request fails as unavailable.
    static let connectTimeout: Duration = .seconds(5)

    /// A pool for `location`. Every session commits synchronously (an acknowledged write is on
    /// the server's disk), whatever the server's default, and names itself `swift-durable`.
    static func client(for location: PostgresLocation, logger: Logger) -> PostgresClient {
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: .disable)
        configuration.options.connectTimeout = connectTimeout
        configuration.options.additionalStartupParameters =
            [("application_name", "swift-durable"), ("synchronous_commit", "on")] + keepalives
        return PostgresClient(configuration: configuration, backgroundLogger: logger)
    }

    /// TCP keepalives that find a dead peer in about 25 s rather than the kernel's 2 hours.
    static let keepalives = [
        ("tcp_keepalives_idle", "10"), ("tcp_keepalives_interval", "5"), ("tcp_keepalives_count", "3"),
    ]

    /// Runs `body` with a pool for `location` that runs for as long as the body does; errors
    /// come out as ``WorkflowStoreError``s naming the location.
    static func withClient<Result: Sendable>(
        _ location: PostgresLocation, logger: Logger, _ body: @Sendable (PostgresClient) async throws -> Result
    ) async throws -> Result {
        let client = client(for: location, logger: logger)
        do {
            try await probe(location, logger: logger)
            return try await withThrowingTaskGroup(of: Result?.self) { group in
                group.addTask {
                    await client.run()
                    return nil
                }
                defer { group.cancelAll() }
                return try await body(client)
            }
        } catch {
            throw translated(error, at: location)
        }
    }

    /// Connects once and disconnects: the pool retries a server it cannot reach for a minute
    /// before failing a request, and then without the reason; one connection says at once.
    static func probe(_ location: PostgresLocation, logger: Logger) async throws {
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(Int64(connectTimeout.components.seconds))
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        try await connection.close()
    }

    /// `error` as a ``WorkflowStoreError`` that names `location` (never its password) and,
    /// for a server error, the server's message and SQLSTATE.
    static func translated(_ error: any Error, at location: PostgresLocation, workflowID: String? = nil) -> any Error {
        if error is WorkflowStoreError { return error }
        if let transaction = error as? PostgresTransactionError,
            let inner = transaction.closureError ?? transaction.beginError ?? transaction.commitError
        {
            return translated(inner, at: location, workflowID: workflowID)
        }
        guard let error = error as? PSQLError else {
            let described = "\(error)"
            guard described.contains("ConnectionPool") else { return error }
            return WorkflowStoreError(
                .unavailable, "cannot reach PostgreSQL at \(location): \(described)", workflowID: workflowID)
        }
        if let server = error.serverInfo {
            let state = server[.sqlState] ?? "?"
            let message = server[.message] ?? "an error"
            // P0001: a RAISE in swift-durable's own schema checks (a half-migrated DBOS schema).
            let code: WorkflowStoreError.Code = state == "P0001" ? .incompatible : .unavailable
            return WorkflowStoreError(
                code, "PostgreSQL at \(location) refused: \(message) (SQLSTATE \(state))", workflowID: workflowID)
        }
        var reason = "\(error.code)"
        if let underlying = error.underlying { reason += ": \(underlying)" }
        return WorkflowStoreError(
            .unavailable, "cannot reach PostgreSQL at \(location): \(reason)", workflowID: workflowID)
    }
}
