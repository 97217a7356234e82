#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DurableWorkflows
import Logging

/// W5: messaging latency. A responder workflow receives `ping` i and sets the event `pong-i` to
/// the wall-clock time (µs) at which its `recv` returned; the client sends, then waits for the
/// event. Measured in one process and with the responder in a second process.
enum MessagingWorkloads {
    static let rounds = 200

    static func responderEngine(_ directory: String) throws -> DurableEngine {
        var configuration = DurableEngine.Configuration(applicationVersion: "bench-w5")
        configuration.logger.logLevel = .error
        let engine = DurableEngine(store: try BenchStore.open(directory), configuration: configuration)
        engine.register(name: "responder") { (count: Int, context: WorkflowContext) -> Int in
            for _ in 0..<count {
                guard let i = try await context.recv(topic: "ping", as: Int.self, timeout: .seconds(60)) else { break }
                try await context.setEvent("pong-\(i)", wallMicros())
            }
            return count
        }
        return engine
    }

    /// Child process: runs the responder until it has answered every round.
    static func responderProcess(directory: String, id: String) async throws -> Never {
        let engine = try responderEngine(directory)
        try await engine.launch()
        print("ready")
        fflush(stdout)
        _ = try await engine.start(name: "responder", rounds, id: id, as: Int.self).result()
        await engine.shutdown()
        exit(0)
    }

    /// Returns (send→recv, send→recv→setEvent→getEvent round trip) latencies.
    static func run(
        directory: String, crossProcess: Bool
    ) async throws -> (sendToRecv: Measurement, roundTrip: Measurement) {
        let id = "responder-\(crossProcess)-\(nowNanos())"
        let engine = try responderEngine(directory)
        try await engine.launch()
        var child: SelfProcess?
        if crossProcess {
            child = try SelfProcess.spawn(["--w5-responder", directory, id])
            guard child!.readLine() == "ready" else { throw WorkflowError("the W5 responder did not start") }
            while (try? await engine.status(of: id)) == nil { try await Task.sleep(for: .milliseconds(1)) }
        } else {
            _ = try await engine.start(name: "responder", rounds, id: id, as: Int.self)
        }
        var sendToRecv: [Double] = []
        var roundTrip: [Double] = []
        let start = nowNanos()
        for i in 0..<rounds {
            let sentAt = wallMicros()
            let t0 = nowNanos()
            try await engine.send(to: id, topic: "ping", i)
            guard
                let receivedAt = try await engine.getEvent(id, key: "pong-\(i)", as: Int64.self, timeout: .seconds(30))
            else {
                throw WorkflowError("round \(i) timed out")
            }
            roundTrip.append(Double(nowNanos() - t0) / 1000)
            sendToRecv.append(Double(receivedAt - sentAt))
        }
        let seconds = Double(nowNanos() - start) / 1e9
        child?.kill()
        await engine.shutdown()
        return (
            Measurement(count: rounds, seconds: seconds, latenciesMicros: sendToRecv),
            Measurement(count: rounds, seconds: seconds, latenciesMicros: roundTrip)
        )
    }

    static func wallMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }
}
