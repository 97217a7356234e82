import DurableTesting
import DurableWorkflows
import Foundation
import Testing

@Suite("Streams", .timeLimit(.minutes(3)))
struct StreamTests {
    static func register(_ engine: DurableEngine, close: Bool) {
        engine.register(name: "producer") { (count: Int, context: WorkflowContext) -> Int in
            for i in 0..<count {
                try await context.writeStream("progress", "item-\(i)")
                try await context.sleep(for: .milliseconds(30))
            }
            if close { try await context.closeStream("progress") }
            try await context.sleep(for: .milliseconds(close ? 5000 : 0))  // still running when the reader finishes
            return count
        }
    }

    @Test("a reader follows a live stream from any offset until it is closed")
    func followUntilClosed() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        Self.register(engine, close: true)
        try await engine.launch()
        _ = try await engine.start(name: "producer", 4, id: "p", as: Int.self)
        var all: [String] = []
        for try await item in engine.readStream("p", key: "progress", as: String.self) { all.append(item) }
        #expect(all == ["item-0", "item-1", "item-2", "item-3"])
        #expect(try await engine.status(of: "p") == .pending, "the reader finished on close, before the workflow ended")
        var tail: [String] = []
        for try await item in engine.readStream("p", key: "progress", from: 2, as: String.self) { tail.append(item) }
        #expect(tail == ["item-2", "item-3"])
        let steps = try await engine.steps(of: "p").filter { $0.kind != "sleep" }
        #expect(
            steps.map(\.name) == [
                "DBOS.writeStream", "DBOS.writeStream", "DBOS.writeStream", "DBOS.writeStream", "DBOS.closeStream",
            ])
        try await engine.expectReplaysCleanly()  // the communication logs replay cleanly
        await engine.shutdown()
    }

    @Test("an unclosed stream ends when its workflow ends; `durable stream --follow` reads it from another process")
    func streamEndsWithWorkflow() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        Self.register(engine, close: false)
        try await engine.launch()
        _ = try await engine.start(name: "producer", 3, id: "q", as: Int.self)
        let cli = try ChildProcess("durable", ["stream", "q", "progress", "--follow", "--dir", dir.data])
        var all: [String] = []
        for try await item in engine.readStream("q", key: "progress", as: String.self) { all.append(item) }
        #expect(all == ["item-0", "item-1", "item-2"])
        #expect(cli.allOutput() == "\"item-0\"\n\"item-1\"\n\"item-2\"\n")
        #expect(cli.wait().status == 0)
        await engine.shutdown()
    }
}
