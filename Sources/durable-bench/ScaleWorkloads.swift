#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DurableWorkflows

/// The scale workload: one data directory holding `count` completed 3-step workflows (plus a
/// few pending ones), then the `durable` commands users run on it, each in its own process with
/// its time and peak RSS measured, and an engine launched on it (recovery sweeps every log).
enum ScaleWorkloads {
    struct Command {
        var label: String
        var seconds: Double
        var peakRSSMegabytes: Double
    }

    static func run(directory: String, count: Int, populate: Bool) async throws -> [String] {
        let data = directory + "/data"
        mkdir(directory, 0o755)
        var json: [String] = []
        if populate {
            let seconds = try ExportWorkloads.populateInChild(directory: data, count: count)
            print(
                "scale: \(count) completed 3-step workflows made in \(seconds.rounded(1)) s (\(Int(Double(count) / seconds)) /s)"
            )
            json.append("\"scale_populate_per_second\":\(Double(count) / seconds)")
        }
        let durable = ExportWorkloads.builtBeside("durable")
        let quiet = directory + "/out"
        let steps: [(String, [String])] = [
            ("list --limit 20", ["list", "--dir", data, "--limit", "20"]),
            (
                "list --status SUCCESS --limit 20 --json",
                ["list", "--dir", data, "--status", "SUCCESS", "--limit", "20", "--json"]
            ),
            ("list --prefix export-99999", ["list", "--dir", data, "--prefix", "export-99999"]),
            ("inspect export-12345", ["inspect", "--dir", data, "export-12345"]),
            ("steps export-12345", ["steps", "--dir", data, "export-12345"]),
            ("queues", ["queues", "--dir", data]),
            ("check", ["check", "--dir", data]),
            ("index rebuild", ["index", "rebuild", "--dir", data]),
            ("gc --keep \(count / 2)", ["gc", "--dir", data, "--keep", "\(count / 2)"]),
            ("list --limit 20 (after gc)", ["list", "--dir", data, "--limit", "20"]),
        ]
        let floor = try ExportWorkloads.child("/bin/true", [])
        print("  (the floor of a child's peak RSS here: /bin/true reports \(floor.peakRSSMegabytes.rounded(1)) MB)")
        var results: [Command] = []
        for (label, arguments) in steps {
            let run = try ExportWorkloads.child(durable, arguments, stdout: quiet)
            guard run.status == 0 else { throw WorkflowError("durable \(label) exited with \(run.status)") }
            results.append(Command(label: label, seconds: run.seconds, peakRSSMegabytes: run.peakRSSMegabytes))
            print(
                "  durable \(label.padding(44)) \(run.seconds.rounded(2).padding(8)) s  peak RSS \(run.peakRSSMegabytes.rounded(1)) MB"
            )
        }
        let start = nowNanos()
        let engine = try WorkflowWorkloads.engine(data)
        try await engine.launch()
        _ = try await engine.run(ThreeSteps.self, 1, id: "scale-after-launch")
        let launchSeconds = Double(nowNanos() - start) / 1e9
        await engine.shutdown()
        print("  engine launch + one workflow                 \(launchSeconds.rounded(2)) s")
        for (i, command) in results.enumerated() {
            json.append(
                "\"scale_\(i)\":{\"command\":\"\(command.label)\",\"seconds\":\(command.seconds.rounded(3)),\"peak_rss_mb\":\(command.peakRSSMegabytes.rounded(1))}"
            )
        }
        json.append("\"scale_workflows\":\(count)")
        json.append("\"scale_engine_launch_seconds\":\(launchSeconds.rounded(3))")
        return json
    }
}
