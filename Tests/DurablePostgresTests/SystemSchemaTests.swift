import DurableExport
import DurableStorage
import DurableTesting
import Foundation
import Logging
import Testing

@testable import DurablePostgres

/// A fresh database on `server`, as a location with `schema`.
func freshDatabase(on server: TemporaryPostgres, schema: String = "dbos") throws -> PostgresLocation {
    var location = try PostgresLocation(url: try server.createDatabase("t_" + UUID().uuidString.prefix(8).lowercased()))
    location.schema = schema
    return location
}

/// Whether PostgreSQL's server binaries are here. `tools/test` installs them and requires these
/// tests (DURABLE_INTEROP_REQUIRED=1); a bare `swift test` without them skips, saying so.
let postgresAvailable: Bool = {
    if TemporaryPostgres.binaries != nil || ProcessInfo.processInfo.environment["DURABLE_INTEROP_REQUIRED"] == "1" {
        return true
    }
    print("NOTICE: PostgreSQL backend tests skipped: no PostgreSQL server binaries (tools/test installs them)")
    return false
}()

let quiet = Logger(label: "durable-postgres-tests") { _ in SwiftLogNoOpLogHandler() }

func prepare(_ location: PostgresLocation) async throws -> SystemSchema.Outcome {
    let schema = try SystemSchema(name: location.schema)
    return try await PostgresConnector.withClient(location, logger: quiet) { client in
        try await schema.prepare(client, logger: quiet)
    }
}

@Suite("The DBOS system schema on PostgreSQL", .enabled(if: postgresAvailable), .timeLimit(.minutes(3)))
struct SystemSchemaTests {
    @Test("a database without the schema gets DBOS's tables at version 125, and swift-durable's beside them")
    func createsTheSchema() async throws {
        let server = try TemporaryPostgres()
        let location = try freshDatabase(on: server)
        #expect(try await prepare(location) == .created)
        let db = location.database
        #expect(try server.psql("SELECT version FROM dbos.dbos_migrations", database: db) == "125\n")
        let tables = try server.psql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'dbos' ORDER BY 1", database: db)
        for table in [
            "workflow_status", "operation_outputs", "notifications", "workflow_events", "streams", "durable_events",
            "durable_workflows", "durable_instances", "durable_meta",
        ] {
            #expect(tables.split(separator: "\n").contains(Substring(table)), "\(table) in \(tables)")
        }
        // Preparing again finds it, changes nothing, and so do concurrent stores preparing at once.
        let before = try server.psql("SELECT count(*) FROM pg_class", database: db)
        #expect(try await prepare(location) == .found)
        try await withThrowingTaskGroup(of: SystemSchema.Outcome.self) { group in
            for _ in 0..<4 { group.addTask { try await prepare(location) } }
            for try await outcome in group { #expect(outcome == .found) }
        }
        #expect(try server.psql("SELECT count(*) FROM pg_class", database: db) == before)
    }

    @Test("concurrent first opens of an empty database create the schema once")
    func concurrentCreation() async throws {
        let server = try TemporaryPostgres()
        let location = try freshDatabase(on: server)
        let outcomes = try await withThrowingTaskGroup(of: SystemSchema.Outcome.self) { group in
            for _ in 0..<4 { group.addTask { try await prepare(location) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == .created }.count == 1, "\(outcomes)")
        #expect(try server.psql("SELECT count(*) FROM dbos.dbos_migrations", database: location.database) == "1\n")
    }

    @Test("a schema of another name, with quotes in it, is created and found the same way")
    func customSchemaName() async throws {
        let server = try TemporaryPostgres()
        let location = try freshDatabase(on: server, schema: "my \"app\" system")
        #expect(try await prepare(location) == .created)
        #expect(try await prepare(location) == .found)
        let version = try server.psql(
            "SELECT version FROM \"my \"\"app\"\" system\".dbos_migrations", database: location.database)
        #expect(version == "125\n")
    }

    @Test(
        "a DBOS schema at another version is refused, naming the version, and left as it was",
        arguments: [(124, "older than 125: upgrade it with dbos migrate"), (126, "newer than 125")])
    func otherVersionsAreRefused(version: Int, says: String) async throws {
        let server = try TemporaryPostgres()
        let location = try freshDatabase(on: server)
        _ = try await prepare(location)
        let db = location.database
        try server.psql("UPDATE dbos.dbos_migrations SET version = \(version)", database: db)
        let before = try server.psql("SELECT count(*) FROM pg_class", database: db)
        let error = await #expect(throws: WorkflowStoreError.self) { _ = try await prepare(location) }
        #expect(error?.code == .incompatible, "\(String(describing: error))")
        #expect(error?.message.contains("version \(version), \(says)") == true, "\(String(describing: error))")
        #expect(try server.psql("SELECT count(*) FROM pg_class", database: db) == before)
    }

    @Test("DBOS tables without a recorded version (a half-finished migration) are refused, not overwritten")
    func halfMigratedSchemaIsRefused() async throws {
        let server = try TemporaryPostgres()
        let location = try freshDatabase(on: server)
        let db = location.database
        try server.psql(
            "CREATE SCHEMA dbos; CREATE TABLE dbos.workflow_status (workflow_uuid text PRIMARY KEY)", database: db)
        let error = await #expect(throws: WorkflowStoreError.self) { _ = try await prepare(location) }
        #expect(error?.code == .incompatible && error?.message.contains("run dbos migrate") == true)
        #expect(
            try server.psql("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'dbos'", database: db)
                == "1\n", "nothing was created beside it")
    }

    @Test("an unreachable server and a missing database are errors that name where, never the password")
    func unreachableServers() async throws {
        let closed = try PostgresLocation(url: "postgresql://postgres:s3cret@127.0.0.1:1/nowhere")
        let started = ContinuousClock.now
        let unreachable = await #expect(throws: WorkflowStoreError.self) { _ = try await prepare(closed) }
        #expect(unreachable?.code == .unavailable, "\(String(describing: unreachable))")
        #expect(
            unreachable?.message.contains("127.0.0.1:1") == true && unreachable?.message.contains("s3cret") == false)
        #expect(ContinuousClock.now - started < .seconds(30), "it gives up instead of waiting forever")

        let server = try TemporaryPostgres()
        var missing = try PostgresLocation(url: server.url("postgres"))
        missing.database = "no_such_database"
        let error = await #expect(throws: WorkflowStoreError.self) { _ = try await prepare(missing) }
        #expect(
            error?.message.contains("database \"no_such_database\" does not exist") == true,
            "\(String(describing: error))")
        #expect(error?.code == .unavailable)
    }
}

@Suite("Database URLs", .timeLimit(.minutes(1)))
struct PostgresLocationTests {
    @Test("every part of a postgresql:// URL is read, with DBOS's defaults for what is left out")
    func readsURLs() throws {
        let full = try PostgresLocation(url: "postgresql://app%40corp:p%3Ass@db.example:6543/orders?schema=sys")
        #expect(
            full
                == PostgresLocation(
                    host: "db.example", port: 6543, username: "app@corp", password: "p:ss",
                    database: "orders", schema: "sys"))
        #expect("\(full)" == "postgresql://app@corp@db.example:6543/orders?schema=sys", "no password in descriptions")
        let bare = try PostgresLocation(url: "postgres://localhost")
        #expect(bare == PostgresLocation(host: "localhost", port: 5432, username: "postgres", database: "postgres"))
        let v6 = try PostgresLocation(url: "postgresql://u@[::1]:5433/d?sslmode=disable")
        #expect(v6.host == "::1" && v6.port == 5433 && v6.database == "d")
    }

    @Test(
        "a URL that is not one is refused, saying what is wrong, without repeating its password",
        arguments: [
            ("mysql://u:secret@h/d", "scheme mysql"), ("postgresql://u:secret@h:99999/d", "port"),
            ("postgresql://u:secret@/d", "names no host"), ("postgresql://u:secret@h/d?sslmode=require", "TLS"),
            ("postgresql://u:secret@h/d?color=blue", "parameter color"), ("not a url", "not a postgresql:// URL"),
            ("postgresql://u:se%zzcret@h/d", "percent-encoded password"),
        ])
    func refusesBadURLs(url: String, says: String) throws {
        let error = #expect(throws: WorkflowStoreError.self) { try PostgresLocation(url: url) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(says) == true, "\(String(describing: error))")
        #expect(error?.message.contains("secret") == false, "\(String(describing: error))")
    }
}
