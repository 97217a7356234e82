import Foundation

/// A throwaway PostgreSQL server on loopback for tests: `initdb` into a temporary directory,
/// started on a free port with trust authentication, stopped and removed when released.
///
/// Needs Debian's `postgresql` package (its server binaries under `/usr/lib/postgresql/*/bin`, or
/// the directory in `DURABLE_PG_BIN`). Run as root, the server runs as the `postgres` user.
public final class TemporaryPostgres: Sendable {
    /// The server's port on 127.0.0.1.
    public let port: Int
    /// The directory that holds the cluster, its socket and its log.
    public let directory: String
    private let binaries: String

    /// The directory of the server binaries, if PostgreSQL is installed.
    public static var binaries: String? {
        if let configured = ProcessInfo.processInfo.environment["DURABLE_PG_BIN"] {
            return FileManager.default.isExecutableFile(atPath: configured + "/initdb") ? configured : nil
        }
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.compactMap(Int.init).sorted().last.map { "\(root)/\($0)/bin" }
            .flatMap { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") ? $0 : nil }
    }

    /// Creates and starts a server; throws, with what the server printed, if it does not start.
    public init() throws {
        guard let binaries = Self.binaries else {
            throw TemporaryPostgresError("no PostgreSQL server binaries (apt-get install postgresql)")
        }
        self.binaries = binaries
        directory = NSTemporaryDirectory() + "durable-pg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let root = getuid() == 0
        if root { _ = try Self.run("/bin/chown", ["postgres", directory]) }
        let initdb = try Self.run(
            binaries + "/initdb", ["-D", directory + "/data", "-A", "trust", "-U", "postgres", "--no-sync"],
            asPostgres: root)
        guard initdb.status == 0 else { throw TemporaryPostgresError("initdb failed: \(initdb.output)") }
        var failure = ""
        for _ in 0..<5 {
            let port = Int.random(in: 20_000...60_000)
            let options =
                "-c listen_addresses=127.0.0.1 -p \(port) -c unix_socket_directories=\(directory) -c fsync=off"
            let start = try Self.run(
                binaries + "/pg_ctl",
                ["-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60", "-o", options, "start"],
                asPostgres: root)
            if start.status == 0 {
                self.port = port
                return
            }
            failure = start.output + ((try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? "")
        }
        try? FileManager.default.removeItem(atPath: directory)
        throw TemporaryPostgresError("PostgreSQL did not start: \(failure)")
    }

    /// One server for the whole test process, started on first use and stopped (by a watchdog
    /// process) once this process is gone, however it ends: for suites that open many stores,
    /// each in a schema or database of its own.
    public static let shared: Result<TemporaryPostgres, TemporaryPostgresError> = Result {
        let server = try TemporaryPostgres()
        try server.stopWhenProcessEnds()
        return server
    }.mapError { $0 as? TemporaryPostgresError ?? TemporaryPostgresError("\($0)") }

    /// Starts a watchdog that stops the server and removes its directory once this process has
    /// exited (a static server is never deinitialized).
    private func stopWhenProcessEnds() throws {
        let stop = getuid() == 0 ? "/sbin/runuser -u postgres -- \(binaries)/pg_ctl" : "\(binaries)/pg_ctl"
        let script =
            "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; "
            + "\(stop) -D '\(directory)/data' -m immediate stop >/dev/null 2>&1; rm -rf '\(directory)'"
        _ = try Spawn.start(
            "/bin/sh", ["-c", script], environment: ProcessInfo.processInfo.environment, output: .null, errors: .null)
    }

    deinit {
        _ = try? Self.run(
            binaries + "/pg_ctl", ["-D", directory + "/data", "-m", "immediate", "stop"], asPostgres: getuid() == 0)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A `postgresql://` URL for `database` on this server.
    public func url(_ database: String = "postgres") -> String { "postgresql://postgres@127.0.0.1:\(port)/\(database)" }

    /// Runs SQL through `psql` (stopping at the first error) in `database`; returns what it printed,
    /// one row per line, unaligned.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        let result = try Self.run(
            binaries + "/psql",
            [
                "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d",
                database, "-c", sql,
            ])
        guard result.status == 0 else { throw TemporaryPostgresError("psql failed: \(result.output)") }
        return result.output
    }

    /// Creates a database and returns its URL.
    public func createDatabase(_ name: String) throws -> String {
        try psql("CREATE DATABASE \"\(name)\"")
        return url(name)
    }

    private static func run(
        _ executable: String, _ arguments: [String], asPostgres: Bool = false
    ) throws -> (status: Int32, output: String) {
        let (path, argv) =
            asPostgres ? ("/sbin/runuser", ["-u", "postgres", "--", executable] + arguments) : (executable, arguments)
        // Output goes to a file, not a pipe: the server pg_ctl starts would inherit a pipe's
        // write end and keep a reader waiting for its end forever.
        let capture = NSTemporaryDirectory() + "durable-pg-output-\(UUID().uuidString)"
        defer { unlink(capture) }
        let started = try Spawn.start(
            path, argv, environment: ProcessInfo.processInfo.environment, output: .file(capture),
            errors: .file(capture + ".err"))
        defer { unlink(capture + ".err") }
        let (status, _) = Spawn.wait(started.pid)
        let output =
            ((try? String(contentsOfFile: capture, encoding: .utf8)) ?? "")
            + ((try? String(contentsOfFile: capture + ".err", encoding: .utf8)) ?? "")
        return (status, output)
    }
}

/// Why a ``TemporaryPostgres`` could not be set up.
public struct TemporaryPostgresError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, with what the server printed.
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Waits for `process` and returns its exit status (128 + the signal for a signal), reaping it
/// with `waitpid` itself: Foundation's exit monitor was seen to miss a short-lived child, which
/// then stays a zombie and `waitUntilExit` never returns. If the monitor reaped it first, its
/// own status holds.
public func exitStatus(of process: Process) -> Int32 {
    var status: Int32 = 0
    var reaped: Int32 = -1
    repeat { reaped = waitpid(process.processIdentifier, &status, 0) } while reaped < 0 && errno == EINTR
    if reaped == process.processIdentifier {
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
    process.waitUntilExit()
    return process.terminationStatus
}
