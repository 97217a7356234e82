import DurableStorage
import DurableLog
// durable-bench: durable append throughput and latency of DurableLog, next to the raw
// write+fdatasync limit of the same disk measured in the same run, and the peer's workflow
// workloads (W1 one client, W2 32 clients, W3 queue drain, W4 recovery after SIGKILL, W5 messaging latency,
// W6 bytes per workflow), and the DBOS export (N completed workflows exported to SQL by the
// `durable` binary built beside it, then loaded with psql into a throwaway PostgreSQL).
// Build in release:
//   swift run -c release durable-bench [--seconds S] [--dir D] [--record-bytes N]
//                                      [--recovery-count N] [--export-count N] [--keep]
//                                      [--database-url URL] [--only storage|workflows|w1|w4|inbox|queues|export|replay|scale] [--replay-count N]
//                                      [--scale-count N] [--keep] [--reuse]
// Prints a human summary and one JSON object (the last line) for scripts.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Dispatch
import DurableWorkflows
import Logging
import Synchronization

@main
struct Benchmark {
    static func main() async throws {
        let arguments = CommandLine.arguments
        if arguments.count >= 4, arguments[1] == "--w5-responder" {
            try await MessagingWorkloads.responderProcess(directory: arguments[2], id: arguments[3])
        }
        if arguments.count >= 3, arguments[1] == "--w3-worker" {
            try await QueueWorkloads.worker(directory: arguments[2])
        }
        if arguments.count >= 4, arguments[1] == "--w4-worker" {
            try await WorkflowWorkloads.recoveryWorker(directory: arguments[2], count: Int(arguments[3]) ?? 1000)
        }
        if arguments.count >= 4, arguments[1] == "--populate-worker" {
            let seconds = try await ExportWorkloads.populate(directory: arguments[2], count: Int(arguments[3]) ?? 0)
            print(seconds)
            exit(0)
        }
        let settings = Settings(arguments)
        let root = settings.directory
        mkdir(root, 0o755)
        defer { if !settings.keep { removeTree(root) } }
        var json: [String] = []
        if settings.only == "all" || settings.only == "storage" { json += try await storage(settings, root: root) }
        if settings.only == "w1" {  // W1 alone, for syscall counts (`strace -f -c`)
            let w1 = try await WorkflowWorkloads.closedLoop(
                directory: root + "/w1", clients: 1, seconds: settings.seconds)
            print(w1.line("W1 1 client (workflows)"))
            json.append("\"W1\":\(w1.json)")
        }
        if settings.only == "w4" {  // W4 alone, for profiling recovery
            let w4 = try await WorkflowWorkloads.recovery(directory: root + "/w4", count: settings.recoveryCount)
            print(
                "W4 recovery of \(settings.recoveryCount) pending workflows after SIGKILL: \(w4.seconds.rounded(3)) s")
            json.append("\"W4\":{\"seconds\":\(w4.seconds.rounded(3)),\"per_second\":\(w4.perSecond.rounded(1))}")
        }
        if settings.only == "inbox" {  // sends to one inbox: the first tenth against the last
            let (first, last) = try await InboxWorkloads.run(
                directory: root + "/inbox", count: settings.recoveryCount * 5)
            print(first.line("inbox: first tenth of sends"))
            print(last.line("inbox: last tenth of sends"))
            json.append("\"inbox_first\":\(first.json),\"inbox_last\":\(last.json)")
        }
        if settings.only == "queues" {
            json += try await queues(root: root, database: settings.databaseURL)
        } else if settings.only == "all" || settings.only == "workflows" {
            json += try await workflows(settings, root: root)
        }
        if settings.only == "all" || settings.only == "export" {
            json += try await ExportWorkloads.run(directory: root + "/export", count: settings.exportCount).report()
        }
        if settings.only == "all" || settings.only == "replay" {
            json += try await ReplayWorkloads.run(directory: root + "/replay", count: settings.replayCount)
        }
        if settings.only == "scale" {  // minutes to hours: never part of "all"
            json += try await ScaleWorkloads.run(
                directory: root + "/scale", count: settings.scaleCount, populate: !settings.reuse)
        }
        print("{" + json.joined(separator: ",") + "}")
    }

    /// Durable appends next to the disk's raw write+fdatasync limit.
    static func storage(_ settings: Settings, root: String) async throws -> [String] {
        let payload = [UInt8]((0..<settings.recordBytes).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
        var results: [(String, Measurement)] = []
        let raw1 = RawSync.run(directory: root, threads: 1, seconds: settings.seconds, bytes: payload.count)
        results.append(("raw_fdatasync_1_thread", raw1))
        let raw16 = RawSync.run(directory: root, threads: 16, seconds: settings.seconds, bytes: payload.count)
        results.append(("raw_fdatasync_16_threads_16_files", raw16))

        var options = LogStore.Options()
        // measure the durability path, not zstd (incompressible payloads are stored raw anyway)
        options.compress = false
        let store = try LogStore.open(directory: root + "/appends", options: options)
        let one = try await DurableAppends.run(store: store, writers: 1, seconds: settings.seconds, payload: payload)
        results.append(("durable_append_1_writer", one))
        let sixteen = try await DurableAppends.run(
            store: store, writers: 16, seconds: settings.seconds, payload: payload)
        results.append(("durable_append_16_writers_16_logs", sixteen))
        let shared = try await DurableAppends.run(
            store: store, writers: 16, seconds: settings.seconds, payload: payload, sharedLog: true)
        results.append(("durable_append_16_writers_1_log", shared))

        print("storage: record payload \(payload.count) B, \(settings.seconds) s per workload, directory \(root)")
        for (name, m) in results { print(m.line(name)) }
        let latencyRatio = one.p50 / raw1.p50
        let scaling = sixteen.perSecond / one.perSecond
        print("1 writer p50 / raw fdatasync p50 = \(latencyRatio.rounded(2))x (target <= 1.3x)")
        print("16 writers / 1 writer throughput = \(scaling.rounded(2))x (target >= 3x)")
        print("16 writers on 16 logs / 16 raw fdatasync streams = \((sixteen.perSecond / raw16.perSecond).rounded(2))")
        return results.map { "\"\($0.0)\":\($0.1.json)" }
            + ["\"latency_ratio_1_writer\":\(latencyRatio.rounded(3))", "\"scaling_16_over_1\":\(scaling.rounded(3))"]
    }

    /// The peer's workloads W1, W2, W4 and W6 on the workflow engine.
    static func workflows(_ settings: Settings, root: String) async throws -> [String] {
        print("workflows: the peer's 3-step workflow, \(settings.seconds) s per closed-loop workload")
        let place = { (name: String) in BenchStore.location(name, root: root, database: settings.databaseURL) }
        let w1Directory = place("w1")
        let w1 = try await WorkflowWorkloads.closedLoop(directory: w1Directory, clients: 1, seconds: settings.seconds)
        print(w1.line("W1 1 client (workflows)"))
        var w6Line: [String] = []
        if settings.databaseURL == nil {
            let w6 = try WorkflowWorkloads.bytesOnDisk(directory: w1Directory)
            print(
                "W6 bytes on disk per completed 3-step workflow: \(Int(w6.apparent)) B in the log (\(Int(w6.allocated)) B allocated), \(w6.count) workflows"
            )
            w6Line = [
                "\"W6\":{\"log_bytes_per_workflow\":\(Int(w6.apparent)),\"allocated_bytes_per_workflow\":\(Int(w6.allocated))}"
            ]
        }
        let w2 = try await WorkflowWorkloads.closedLoop(directory: place("w2"), clients: 32, seconds: settings.seconds)
        print(w2.line("W2 32 clients (workflows)"))
        let w4 = try await WorkflowWorkloads.recovery(directory: place("w4"), count: settings.recoveryCount)
        print(
            "W4 recovery of \(settings.recoveryCount) pending workflows after SIGKILL: \(w4.seconds.rounded(3)) s (\(w4.perSecond.rounded(0)) workflows/s)"
        )
        let w3 = try await queues(root: root, database: settings.databaseURL)
        var w5: [String] = []
        for crossProcess in [false, true] {
            let (sendToRecv, roundTrip) = try await MessagingWorkloads.run(
                directory: place("w5-\(crossProcess ? "cross" : "in")"), crossProcess: crossProcess)
            let label = crossProcess ? "cross-process" : "in-process"
            print(sendToRecv.line("W5 send->recv, \(label)"))
            print(roundTrip.line("W5 round trip, \(label)"))
            w5.append(
                "\"W5_\(crossProcess ? "cross" : "in")_process\":{\"send_to_recv\":\(sendToRecv.json),\"round_trip\":\(roundTrip.json)}"
            )
        }
        return w3 + w5 + [
            "\"W1\":\(w1.json)", "\"W2_32\":\(w2.json)",
            "\"W4\":{\"workflows\":\(settings.recoveryCount),\"seconds\":\(w4.seconds.rounded(3)),\"per_second\":\(w4.perSecond.rounded(1))}",
        ] + w6Line
    }
}

extension Benchmark {
    /// W3: queue drain with 1 and 3 worker processes, and enqueue→start on an idle queue.
    static func queues(root: String, database: String? = nil) async throws -> [String] {
        var w3: [String] = []
        for processes in [1, 3] {
            let drain = try await QueueWorkloads.drain(
                directory: BenchStore.location("w3-\(processes)", root: root, database: database), processes: processes,
                count: 2000)
            print(drain.line("W3 drain 2000, \(processes) process\(processes == 1 ? "" : "es") (enqueue->start)"))
            w3.append("\"W3_drain_\(processes)_process\":\(drain.json)")
        }
        let idle = try await QueueWorkloads.idleLatency(
            directory: BenchStore.location("w3-idle", root: root, database: database), samples: 200)
        print(idle.line("W3 enqueue->start, idle queue, cross-process"))
        w3.append("\"W3_idle_enqueue_to_start\":\(idle.json)")
        return w3
    }
}

struct Settings {
    var seconds = 3.0
    var directory = ".durable-bench-\(getpid())"
    var recordBytes = 200
    var recoveryCount = 1000
    var exportCount = 100_000
    var scaleCount = 1_000_000
    var replayCount = 10_000
    /// Measure the scale workload on the directory a `--keep` run left, without populating it.
    var reuse = false
    var only = "all"
    /// `--database-url`: the workflow workloads run on this PostgreSQL (a schema of their own each).
    var databaseURL: String?
    /// Leave the benchmark's directories behind (for inspecting them).
    var keep = false

    init(_ arguments: [String]) {
        var i = 1
        while i < arguments.count {
            if arguments[i] == "--keep" || arguments[i] == "--reuse" {
                if arguments[i] == "--keep" { keep = true } else { reuse = true }
                i += 1
                continue
            }
            guard i + 1 < arguments.count else { break }
            switch arguments[i] {
            case "--seconds": seconds = Double(arguments[i + 1]) ?? seconds
            case "--dir": directory = arguments[i + 1]
            case "--record-bytes": recordBytes = Int(arguments[i + 1]) ?? recordBytes
            case "--recovery-count": recoveryCount = Int(arguments[i + 1]) ?? recoveryCount
            case "--export-count": exportCount = Int(arguments[i + 1]) ?? exportCount
            case "--scale-count": scaleCount = Int(arguments[i + 1]) ?? scaleCount
            case "--replay-count": replayCount = Int(arguments[i + 1]) ?? replayCount
            case "--only": only = arguments[i + 1]
            case "--database-url": databaseURL = arguments[i + 1]
            default: break
            }
            i += 2
        }
    }
}

/// Latencies of completed operations over a measured interval.
struct Measurement: Sendable {
    var count: Int
    var seconds: Double
    var latenciesMicros: [Double]

    var perSecond: Double { Double(count) / seconds }
    var p50: Double { percentile(0.50) }
    var p99: Double { percentile(0.99) }

    func percentile(_ p: Double) -> Double {
        guard !latenciesMicros.isEmpty else { return 0 }
        let sorted = latenciesMicros.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }

    func line(_ name: String) -> String {
        "\(name.padding(36)) \(perSecond.rounded(0).padding(9)) /s   p50 \(p50.rounded(1).padding(8)) µs   p99 \(p99.rounded(1).padding(8)) µs"
    }

    var json: String {
        "{\"ops\":\(count),\"per_second\":\(perSecond.rounded(1)),\"p50_us\":\(p50.rounded(1)),\"p99_us\":\(p99.rounded(1))}"
    }
}

func nowNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// The disk's own limit: `pwrite` of one record at the end of a file, then `fdatasync`.
enum RawSync {
    static func run(directory: String, threads: Int, seconds: Double, bytes: Int) -> Measurement {
        let results = Locked<[[Double]]>([])
        let deadline = nowNanos() + UInt64(seconds * 1e9)
        // Real threads, one per stream (concurrentPerform would cap them at the core count).
        let done = DispatchSemaphore(value: 0)
        for index in 0..<threads {
            Thread.start {
                let path = "\(directory)/raw-\(threads)-\(index)"
                let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
                precondition(fd >= 0, "cannot create \(path)")
                let record = [UInt8](repeating: 0x5A, count: bytes)
                var offset = 0
                var latencies: [Double] = []
                while nowNanos() < deadline {
                    let start = nowNanos()
                    _ = record.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
                    precondition(fdatasync(fd) == 0, "fdatasync failed")
                    latencies.append(Double(nowNanos() - start) / 1000)
                    offset += bytes
                }
                close(fd)
                unlink(path)
                results.withLock { $0.append(latencies) }
                done.signal()
            }
        }
        for _ in 0..<threads { done.wait() }
        let all = results.withLock { $0.flatMap { $0 } }
        return Measurement(count: all.count, seconds: seconds, latenciesMicros: all)
    }
}

/// `LogWriter.append` awaited back to back by each writer, each writer on its own log (or all on one).
enum DurableAppends {
    static func run(
        store: LogStore, writers: Int, seconds: Double, payload: [UInt8], sharedLog: Bool = false
    ) async throws -> Measurement {
        var fields = IndexFields()
        fields.name = "bench"
        fields.status = .pending
        let tag = "\(writers)-\(sharedLog)-\(nowNanos())"
        var logs: [LogWriter] = []
        for index in 0..<(sharedLog ? 1 : writers) {
            logs.append(try await store.createLog(name: "bench-\(tag)-\(index)", fields: fields))
        }
        let deadline = nowNanos() + UInt64(seconds * 1e9)
        let record = RecordDraft(type: RecordType(rawValue: 0x10), payload: payload)
        let all = try await withThrowingTaskGroup(of: [Double].self) { group in
            for index in 0..<writers {
                let log = logs[sharedLog ? 0 : index]
                group.addTask {
                    var latencies: [Double] = []
                    while nowNanos() < deadline {
                        let start = nowNanos()
                        try await log.append(record)
                        latencies.append(Double(nowNanos() - start) / 1000)
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }
        }
        for log in logs { log.close() }
        return Measurement(count: all.count, seconds: seconds, latenciesMicros: all)
    }
}

func removeTree(_ path: String) {
    guard let dir = opendir(path) else {
        unlink(path)
        return
    }
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name == "." || name == ".." { continue }
        let child = "\(path)/\(name)"
        if entry.pointee.d_type == UInt8(DT_DIR) { removeTree(child) } else { unlink(child) }
    }
    closedir(dir)
    rmdir(path)
}

extension Double {
    func rounded(_ places: Int) -> Double {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        return (self * scale).rounded() / scale
    }
}

extension CustomStringConvertible {
    func padding(_ width: Int) -> String {
        let text = description
        return text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}

/// Starts a detached POSIX thread.
enum Thread {
    private final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    static func start(_ body: @escaping @Sendable () -> Void) {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let rc = pthread_create(
            &thread, nil,
            { raw in
                Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
                return nil
            }, box)
        precondition(rc == 0)
        pthread_detach(thread)
    }
}
