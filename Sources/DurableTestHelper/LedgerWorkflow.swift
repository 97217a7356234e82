#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DurableWorkflows

/// Five steps; each appends `run <id> <k>` to a ledger file outside the data directory when its
/// body runs, and the workflow appends `ack <id> <k>` once the step's checkpoint is durable.
/// A step that was acknowledged must never log `run` again. The result is 1² + ... + 5² = 55.
///
/// `KILL_AT=<id>:<k>:<phase>[,...]` makes the process SIGKILL itself at that point, once per
/// point (fired points are remembered in the file named by `FIRED`): phase `before` (before the
/// body), `effect` (after the body's side effect, before the checkpoint), `ack` (after the checkpoint).
/// With `KILL_EVERY_TIME=1` a point fires every time it is reached, replays included (a poison pill).
struct LedgerWorkflow: Workflow {
    static let name = "ledgered"
    let ledger: Int32
    let killPoints: Set<String>
    let firedPath: String?
    let stepSleepMilliseconds: Int
    var everyTime = getenv("KILL_EVERY_TIME").map { String(cString: $0) == "1" } ?? false

    func run(_ id: String, context: WorkflowContext) async throws -> Int {
        var total = 0
        for k in 1...5 {
            maybeDie("\(id):\(k):before")
            total += try await context.step("square-\(k)") { () -> Int in
                if stepSleepMilliseconds > 0 {
                    try await Task.sleep(for: .milliseconds(Int.random(in: 0...stepSleepMilliseconds)))
                }
                note("run \(id) \(k)")
                maybeDie("\(id):\(k):effect")
                return k * k
            }
            note("ack \(id) \(k)")
            maybeDie("\(id):\(k):ack")
        }
        return total
    }

    func note(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(ledger, $0.baseAddress, $0.count) }
    }

    /// Whether kill point `point` fired in an earlier process.
    func hasFired(_ point: String) -> Bool {
        guard let firedPath else { return false }
        let fired = (try? String(contentsOfFile: firedPath)) ?? ""
        return fired.split(separator: "\n").contains(Substring(point))
    }

    func maybeDie(_ point: String) {
        guard killPoints.contains(point), let firedPath, everyTime || !hasFired(point) else { return }
        let fd = open(firedPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        let bytes = Array((point + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        kill(getpid(), SIGKILL)
    }
}

extension String {
    /// Reads a small text file without Foundation.
    init(contentsOfFile path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw WorkflowError("cannot open \(path)") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
