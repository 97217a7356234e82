#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DurableWorkflows

/// The export workload: `count` completed 3-step workflows exported to a SQL script by the
/// `durable` binary built beside this one (its peak RSS measured by `wait4`), then loaded with
/// psql into a throwaway PostgreSQL started by `tools/interop/postgres`.
enum ExportWorkloads {
    struct Result {
        var count: Int
        var populateSeconds: Double
        var exportSeconds: Double
        var exportPeakRSSMegabytes: Double
        var scriptMegabytes: Double
        var loadSeconds: Double
        var loadedWorkflows: Int
    }

    static func run(directory: String, count: Int) async throws -> Result {
        let data = directory + "/data", script = directory + "/export.sql", cluster = directory + "/pg"
        mkdir(directory, 0o755)
        let populate = try populateInChild(directory: data, count: count)
        let export = try child(builtBeside("durable"), ["export", "--dir", data, "--create-schema", "-o", script])
        guard export.status == 0 else { throw WorkflowError("durable export exited with \(export.status)") }
        var st = stat()
        stat(script, &st)

        let postgres = packageRoot + "/tools/interop/postgres"
        let port = Int.random(in: 20_000...60_000)
        guard try child(postgres, ["start", cluster, "\(port)"]).status == 0 else {
            throw WorkflowError("PostgreSQL did not start")
        }
        defer { _ = try? child(postgres, ["stop", cluster]) }
        let connection = [
            "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", "postgres",
        ]
        let load = try child("/usr/bin/psql", connection + ["-o", "/dev/null", "-f", script])
        guard load.status == 0 else { throw WorkflowError("psql exited with \(load.status)") }
        let counted = try child(
            "/usr/bin/psql",
            connection + ["-At", "-o", directory + "/count", "-c", "SELECT count(*) FROM dbos.workflow_status"])
        guard counted.status == 0 else { throw WorkflowError("psql count failed") }
        let loaded = Int(readText(directory + "/count").filter(\.isNumber)) ?? 0
        return Result(
            count: count, populateSeconds: populate, exportSeconds: export.seconds,
            exportPeakRSSMegabytes: export.peakRSSMegabytes,
            scriptMegabytes: Double(st.st_size) / 1_048_576, loadSeconds: load.seconds, loadedWorkflows: loaded)
    }

    /// ``populate(directory:count:)`` in a child process, so this one stays small: a child's
    /// peak RSS, as `wait4` reports it, starts from its parent's (`posix_spawn` shares the
    /// parent's memory until `exec`, and Linux carries that high-water mark across it).
    static func populateInChild(directory: String, count: Int) throws -> Double {
        let out = directory + ".seconds"
        let run = try child(builtBeside("durable-bench"), ["--populate-worker", directory, "\(count)"], stdout: out)
        guard run.status == 0 else { throw WorkflowError("populating \(directory) failed (\(run.status))") }
        return Double(readText(out).filter { $0.isNumber || $0 == "." }) ?? run.seconds
    }

    /// Runs `count` workflows to completion from 32 clients; returns the seconds it took.
    static func populate(directory: String, count: Int) async throws -> Double {
        let engine = try WorkflowWorkloads.engine(directory)
        try await engine.launch()
        let start = nowNanos()
        let clients = 32
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
                group.addTask {
                    for n in stride(from: client, to: count, by: clients) {
                        _ = try await engine.run(ThreeSteps.self, n, id: "export-\(n)")
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = Double(nowNanos() - start) / 1e9
        await engine.shutdown()
        return seconds
    }

    /// Runs `path` with `arguments` (stderr inherited; stdout too unless `stdout` names a file
    /// to write it to) and waits for it.
    static func child(
        _ path: String, _ arguments: [String], stdout: String? = nil
    ) throws -> (status: Int32, seconds: Double, peakRSSMegabytes: Double) {
        var pid = pid_t()
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdout { posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        let start = nowNanos()
        let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard rc == 0 else { throw WorkflowError("cannot start \(path): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let seconds = Double(nowNanos() - start) / 1e9
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (code, seconds, Double(usage.ru_maxrss) / 1024)
    }

    /// A small text file's contents ("" if unreadable).
    static func readText(_ path: String) -> String {
        guard let file = fopen(path, "r") else { return "" }
        defer { fclose(file) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = fread(&buffer, 1, buffer.count, file)
        return String(decoding: buffer[0..<n], as: UTF8.self)
    }

    /// An executable built beside this benchmark (`swift build -c release` builds them all).
    static func builtBeside(_ name: String) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let me =
            n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "./durable-bench"
        return String(me[..<(me.lastIndex(of: "/") ?? me.startIndex)]) + "/" + name
    }

    /// The package's root directory (the benchmark runs from a build of its own checkout).
    static var packageRoot: String {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }
        return path
    }
}

extension ExportWorkloads.Result {
    var exportPerSecond: Double { Double(count) / exportSeconds }
    var loadPerSecond: Double { Double(count) / loadSeconds }

    func report() -> [String] {
        print("export: \(count) completed 3-step workflows (made in \(populateSeconds.rounded(1)) s)")
        print(
            "  durable export -> SQL  \(exportSeconds.rounded(2)) s  \(Int(exportPerSecond)) workflows/s  peak RSS \(exportPeakRSSMegabytes.rounded(1)) MB (target < 150)  script \(scriptMegabytes.rounded(1)) MB"
        )
        print(
            "  psql load             \(loadSeconds.rounded(2)) s  \(Int(loadPerSecond)) workflows/s  (\(loadedWorkflows) status rows)"
        )
        return [
            "\"export_workflows\":\(count)", "\"export_per_second\":\(exportPerSecond.rounded(1))",
            "\"export_peak_rss_mb\":\(exportPeakRSSMegabytes.rounded(1))",
            "\"export_script_mb\":\(scriptMegabytes.rounded(1))",
            "\"load_per_second\":\(loadPerSecond.rounded(1))", "\"loaded_workflows\":\(loadedWorkflows)",
        ]
    }
}
