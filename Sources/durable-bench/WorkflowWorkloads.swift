import DurableLog
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DurableWorkflows
import Logging
import Synchronization

/// The peer harness's workflow (`../shared/peers/dbos-python/dbos_app.py`): three trivial steps,
/// each returning a small dict. In W4 mode the second step blocks until the process is killed.
struct ThreeSteps: Workflow {
    static let name = "three-steps"

    struct StepResult: Codable, Sendable {
        var i: Int
        var s: String
        var ok: Bool
    }

    struct Done: Codable, Sendable {
        var i: Int
        var steps: Int
    }

    let blockInSecondStep: Bool
    let firstStepsDone: Counter?

    init(blockInSecondStep: Bool = false, firstStepsDone: Counter? = nil) {
        self.blockInSecondStep = blockInSecondStep
        self.firstStepsDone = firstStepsDone
    }

    func run(_ i: Int, context: WorkflowContext) async throws -> Done {
        _ = try await context.step("step_a") { StepResult(i: i, s: "a", ok: true) }
        firstStepsDone?.add()
        _ = try await context.step("step_b") { () -> StepResult in
            if blockInSecondStep { try await Task.sleep(for: .seconds(3600)) }
            return StepResult(i: i, s: "b", ok: true)
        }
        _ = try await context.step("step_c") { StepResult(i: i, s: "c", ok: true) }
        return Done(i: i, steps: 3)
    }
}

/// A counter shared between tasks.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func add() { value.add(1, ordering: .relaxed) }
    var count: Int { value.load(ordering: .relaxed) }
}

enum WorkflowWorkloads {
    static func engine(_ directory: String, block: Bool = false, counter: Counter? = nil) throws -> DurableEngine {
        var configuration = DurableEngine.Configuration(applicationVersion: "bench-1")
        configuration.logger.logLevel = .error
        let engine = DurableEngine(store: try BenchStore.open(directory), configuration: configuration)
        engine.register(ThreeSteps(blockInSecondStep: block, firstStepsDone: counter))
        return engine
    }

    /// W1 (clients = 1) and W2 (clients = 32): clients each running workflows back to back.
    static func closedLoop(directory: String, clients: Int, seconds: Double) async throws -> Measurement {
        let engine = try engine(directory)
        try await engine.launch()
        let deadline = nowNanos() + UInt64(seconds * 1e9)
        let tag = "\(clients)-\(nowNanos())"
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for client in 0..<clients {
                group.addTask {
                    var latencies: [Double] = []
                    var n = 0
                    while nowNanos() < deadline {
                        let start = nowNanos()
                        _ = try await engine.run(ThreeSteps.self, n, id: "w-\(tag)-\(client)-\(n)")
                        latencies.append(Double(nowNanos() - start) / 1000)
                        n += 1
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }
        }
        await engine.shutdown()
        return Measurement(count: latencies.count, seconds: seconds, latenciesMicros: latencies)
    }

    /// W6: bytes on disk per completed workflow (file sizes and allocated blocks of the logs).
    static func bytesOnDisk(directory: String) throws -> (apparent: Double, allocated: Double, count: Int) {
        var apparent = 0
        var allocated = 0
        var count = 0
        let shards = "\(directory)/wf"
        guard let dir = opendir(shards) else { return (0, 0, 0) }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let shard = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            guard shard.count == 2, let files = opendir("\(shards)/\(shard)") else { continue }
            while let file = readdir(files) {
                let name = withUnsafePointer(to: file.pointee.d_name) {
                    $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                }
                guard name.hasSuffix(".wlog") else { continue }
                var st = stat()
                if stat("\(shards)/\(shard)/\(name)", &st) == 0 {
                    apparent += Int(st.st_size)
                    allocated += Int(st.st_blocks) * 512
                    count += 1
                }
            }
            closedir(files)
        }
        return (Double(apparent) / Double(max(count, 1)), Double(allocated) / Double(max(count, 1)), count)
    }

    /// W4 worker: starts `count` workflows that block in their second step, prints "ready" once
    /// every first step is checkpointed, and waits to be killed.
    static func recoveryWorker(directory: String, count: Int) async throws -> Never {
        let firstSteps = Counter()
        let engine = try engine(directory, block: true, counter: firstSteps)
        try await engine.launch()
        for i in 0..<count { _ = try await engine.start(ThreeSteps.self, i, id: "w4-\(i)") }
        while firstSteps.count < count { try await Task.sleep(for: .milliseconds(5)) }
        print("ready")
        fflush(stdout)
        while true { try await Task.sleep(for: .seconds(3600)) }
    }

    /// W4: time from opening the directory to every one of `count` pending workflows finishing.
    static func recovery(directory: String, count: Int) async throws -> (seconds: Double, perSecond: Double) {
        let worker = try SelfProcess.spawn(["--w4-worker", directory, "\(count)"])
        guard worker.readLine() == "ready" else { throw WorkflowError("the W4 worker did not get ready") }
        worker.kill()
        let start = nowNanos()
        let engine = try engine(directory)
        let recovered = try await engine.launch()
        for id in recovered { _ = try await engine.handle(for: id, as: ThreeSteps.Done.self).result() }
        let seconds = Double(nowNanos() - start) / 1e9
        await engine.shutdown()
        guard recovered.count == count else {
            throw WorkflowError("recovered \(recovered.count) of \(count) workflows")
        }
        return (seconds, Double(count) / seconds)
    }
}

/// This benchmark binary started again as a child process.
struct SelfProcess {
    let pid: pid_t
    let stdout: Int32

    static func spawn(_ arguments: [String]) throws -> SelfProcess {
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else { throw WorkflowError("pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipe[0])
        var pid = pid_t()
        let path = "/proc/self/exe"
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
        posix_spawn_file_actions_destroy(&actions)
        close(pipe[1])
        guard rc == 0 else { throw WorkflowError("posix_spawn failed: \(rc)") }
        return SelfProcess(pid: pid, stdout: pipe[0])
    }

    func readLine() -> String {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while read(stdout, &byte, 1) == 1, byte != UInt8(ascii: "\n") { bytes.append(byte) }
        return String(decoding: bytes, as: UTF8.self)
    }

    func kill() {
        Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(stdout)
    }
}
