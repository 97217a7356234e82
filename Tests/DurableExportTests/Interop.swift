import DurableTesting
import Foundation
import Testing

/// The real peers the interop tests use: a PostgreSQL server started for the test, psql, and a
/// Python with `dbos==3.4.0` (`DURABLE_DBOS_PYTHON`, set by `tools/test`).
enum Interop {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static var python: String? { ProcessInfo.processInfo.environment["DURABLE_DBOS_PYTHON"] }
    /// `tools/test` sets this: a missing peer then fails the run instead of skipping.
    static var required: Bool { ProcessInfo.processInfo.environment["DURABLE_INTEROP_REQUIRED"] == "1" }
    static var available: Bool {
        guard let python, FileManager.default.isExecutableFile(atPath: python) else { return false }
        return FileManager.default.fileExists(atPath: "/usr/bin/psql")
    }
    /// Whether to run; prints a visible notice when skipping.
    static var enabled: Bool {
        if !available && !required {
            print(
                "NOTICE: DBOS interop tests skipped: set DURABLE_DBOS_PYTHON to a Python with dbos==3.4.0 (tools/test does)"
            )
        }
        return available || required
    }

    /// Runs a command; returns (status, stdout, stderr).
    @discardableResult
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:]
    ) throws -> (Int32, String, String) {
        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { $1 }
        let (status, output, errors) = try Spawn.run(executable, arguments, environment: merged)
        return (status, output, errors)
    }

    static func durable(_ arguments: [String]) throws -> String {
        let (status, out, err) = try run(builtExecutable("durable"), arguments)
        guard status == 0 else { throw InteropError("durable \(arguments.joined(separator: " ")) failed: \(err)") }
        return out
    }
}

struct InteropError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A PostgreSQL server on loopback, alive as long as the value (a ``TemporaryPostgres``), with the
/// psql helpers the interop tests use.
final class ThrowawayPostgres {
    private let server: TemporaryPostgres
    var port: Int { server.port }

    init() throws {
        guard Interop.available else {
            throw InteropError("psql or DURABLE_DBOS_PYTHON with dbos==3.4.0 is missing (run tools/test)")
        }
        server = try TemporaryPostgres()
    }

    func url(_ database: String) -> String { server.url(database) }

    func createDatabase(_ name: String) throws { try psql("postgres", ["-c", "CREATE DATABASE \(name)"]) }

    /// Runs psql with ON_ERROR_STOP; throws with its stderr on failure.
    @discardableResult
    func psql(_ database: String, _ arguments: [String]) throws -> String {
        let (status, out, err) = try Interop.run(
            "/usr/bin/psql",
            ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", database]
                + arguments)
        guard status == 0 else { throw InteropError("psql failed (\(status)): \(err)") }
        return out
    }

    /// One value per line of a query's result.
    func query(_ database: String, _ sql: String) throws -> [String] {
        try psql(database, ["-At", "-c", sql]).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            .filter { !$0.isEmpty }
    }
}
