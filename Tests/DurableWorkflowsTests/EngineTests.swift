import DurableLog
import DurableTesting
import DurableWorkflows
import Foundation
import Testing

@Suite("Workflows, steps and handles", .timeLimit(.minutes(3)))
struct EngineTests {
    @Test("a three-step workflow runs once, records function IDs 1-3 and its result")
    func threeStepWorkflow() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let engine = try makeEngine(dir)
        engine.register(Checkout(counter: counter))
        try await engine.launch()
        let receipt = try await engine.run(Checkout.self, Order(id: "o-1", amount: 1299), id: "order-1")
        #expect(receipt == Receipt(order: "o-1", charged: 1299, emailed: true))
        #expect(try await engine.status(of: "order-1") == .success)
        let steps = try await engine.steps(of: "order-1")
        #expect(steps.map(\.functionID) == [1, 2, 3])
        #expect(steps.map(\.name) == ["reserve", "charge", "email"])
        #expect(steps.map(\.output) == ["1299", "1299", "null"])
        #expect(counter["reserve"] == 1 && counter["charge"] == 1 && counter["email"] == 1)
        // The result is still there for a new engine (a restart).
        await engine.shutdown()
        let again = try makeEngine(dir)
        again.register(Checkout(counter: counter))
        try await again.launch()
        #expect(try await again.handle(for: "order-1", as: Receipt.self).result() == receipt)
        #expect(try await again.run(Checkout.self, Order(id: "ignored", amount: 1), id: "order-1") == receipt)
        #expect(counter["reserve"] == 1)
        await again.shutdown()
    }

    @Test("16 concurrent starts of one ID run the body once and share its result; exactly one start says it created it")
    func idempotentStartUnderConcurrency() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let engine = try makeEngine(dir)
        engine.register(Checkout(counter: counter))
        try await engine.launch()
        let results = try await withThrowingTaskGroup(of: Receipt.self) { group in
            for _ in 0..<16 {
                group.addTask { try await engine.run(Checkout.self, Order(id: "same", amount: 5), id: "dup") }
            }
            return try await group.reduce(into: [Receipt]()) { $0.append($1) }
        }
        #expect(results.count == 16 && Set(results.map(\.order)) == ["same"])
        #expect(counter["reserve"] == 1 && counter["email"] == 1)
        let starts = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await engine.start(Checkout.self, Order(id: "other", amount: 1), id: "dup-2").created
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(starts.filter { $0 }.count == 1, "exactly one start created the workflow; the others found it")
        #expect(try await engine.start(Checkout.self, Order(id: "same", amount: 5), id: "dup").created == false)
        #expect(engine.handle(for: "dup", as: Receipt.self).created == false)
        let client = try DurableClient(directory: dir.data)
        #expect(
            try await client.enqueue(
                Checkout.self, Order(id: "q", amount: 1), on: "q", options: EnqueueOptions(id: "e1")
            ).created)
        #expect(
            try await client.enqueue(
                Checkout.self, Order(id: "q", amount: 1), on: "q", options: EnqueueOptions(id: "e1")
            ).created == false)
        await engine.shutdown()
    }

    @Test("a generated ID is returned when none is given")
    func generatedIDs() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        engine.register(name: "double") { (n: Int, _: WorkflowContext) in n * 2 }
        try await engine.launch()
        let a = try await engine.start(name: "double", 21, as: Int.self)
        let b = try await engine.start(name: "double", 4, as: Int.self)
        #expect(a.workflowID != b.workflowID)
        #expect(try await a.result() == 42)
        #expect(try await b.result() == 8)
        await engine.shutdown()
    }

    @Test("a step's error is recorded with its name and message, and rethrown on replay")
    func errorsRoundTrip() async throws {
        let dir = TemporaryDirectory()
        let counter = RunCounter()
        let engine = try makeEngine(dir)
        engine.register(Checkout(counter: counter))
        try await engine.launch()
        let handle = try await engine.start(Checkout.self, Order(id: "bad", amount: -1), id: "declined")
        let error = await #expect(throws: PortableError.self) { try await handle.result() }
        #expect(error?.name == "PaymentDeclined")
        #expect(error?.message == "card declined: negative amount")
        #expect(try await engine.status(of: "declined") == .error)
        let failed = try await engine.steps(of: "declined")[1]
        #expect(failed.error == PortableError(name: "PaymentDeclined", message: "card declined: negative amount"))
        #expect(failed.output == nil)
        await engine.shutdown()

        // Another engine reads the same error back from the log.
        let reader = try makeEngine(dir)
        reader.register(Checkout(counter: counter))
        try await reader.launch()
        let again = await #expect(throws: PortableError.self) {
            try await reader.handle(for: "declined", as: Receipt.self).result()
        }
        #expect(again == error)
        #expect(counter["charge"] == 1)
        await reader.shutdown()
    }

    @Test("retries back off as configured on an injected clock; the checkpoint records the attempts")
    func retriesWithBackoff() async throws {
        let dir = TemporaryDirectory()
        let clock = ManualClock()
        let counter = RunCounter()
        let engine = try makeEngine(dir, clock: clock)
        engine.register(name: "flaky") { (failures: Int, context: WorkflowContext) -> String in
            try await context.step(
                "call",
                retry: .exponential(maxAttempts: 5, interval: .seconds(1), backoffRate: 3, maxInterval: .seconds(5))
            ) {
                counter.hit("call")
                if counter["call"] <= failures {
                    throw PortableError(name: "Unavailable", message: "try \(counter["call"])")
                }
                return "ok after \(counter["call"])"
            }
        }
        try await engine.launch()
        #expect(try await engine.start(name: "flaky", 3, id: "f1", as: String.self).result() == "ok after 4")
        #expect(clock.sleeps == [.seconds(1), .seconds(3), .seconds(5)])
        #expect(try await engine.steps(of: "f1").first?.attempts == 4)

        // Exhausted retries record the last error.
        let exhausted = await #expect(throws: PortableError.self) {
            try await engine.start(name: "flaky", 100, id: "f2", as: String.self).result()
        }
        #expect(exhausted?.message == "try 9")
        #expect(try await engine.steps(of: "f2").first?.attempts == 5)
        await engine.shutdown()
    }

    @Test("a step body reads its workflow ID, position and attempt; nothing outside a step")
    func stepContextIsVisibleInsideSteps() async throws {
        let dir = TemporaryDirectory()
        let clock = ManualClock()
        let engine = try makeEngine(dir, clock: clock)
        engine.register(name: "keys") { (_: Int, context: WorkflowContext) -> [String] in
            let outside = StepContext.current == nil
            _ = try await context.now()
            var seen: [String] = []
            let key = try await context.step("charge", retry: .exponential(maxAttempts: 3, interval: .seconds(1))) {
                let step = StepContext.current!
                seen.append("\(step.name) \(step.functionID) attempt \(step.attempt)")
                if step.attempt < 2 { throw PortableError(name: "Flaky", message: "once") }
                return "\(step.workflowID)-\(step.functionID)"
            }
            let nested = try await context.step("nested") { await Task { StepContext.current?.functionID }.value }
            return seen + [key, "nested \(nested ?? 0)", "outside \(outside && StepContext.current == nil)"]
        }
        try await engine.launch()
        #expect(
            try await engine.start(name: "keys", 0, id: "k1", as: [String].self).result() == [
                "charge 2 attempt 1", "charge 2 attempt 2", "k1-2", "nested 3", "outside true",
            ])
        await engine.shutdown()
    }

    @Test("replay-safe helpers return the recorded time, UUID and random number")
    func replaySafeHelpers() async throws {
        let dir = TemporaryDirectory()
        let clock = ManualClock()
        let engine = try makeEngine(dir, clock: clock)
        engine.register(name: "helpers") { (_: Int, context: WorkflowContext) -> [String] in
            let now = try await context.now()
            let uuid = try await context.uuid()
            let dice = try await context.random(in: 1...6)
            return ["\(Int64(now.timeIntervalSince1970 * 1000))", uuid.uuidString, "\(dice)"]
        }
        try await engine.launch()
        let values = try await engine.start(name: "helpers", 0, id: "h", as: [String].self).result()
        #expect(values[0] == "\(clock.nowMilliseconds())")
        let steps = try await engine.steps(of: "h")
        #expect(steps.map(\.kind) == ["now", "uuid", "random"])
        #expect(steps[1].output == "\"\(values[1])\"")
        await engine.shutdown()
    }

    @Test("starting before launch, or an unregistered name, is a clear error")
    func misuse() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        engine.register(name: "x") { (n: Int, _: WorkflowContext) in n }
        await #expect(throws: WorkflowError.self) { _ = try await engine.start(name: "x", 1, as: Int.self) }
        try await engine.launch()
        let error = await #expect(throws: WorkflowError.self) {
            _ = try await engine.start(name: "nope", 1, as: Int.self)
        }
        #expect(error?.message.contains("no workflow is registered as \"nope\"") == true)
        let empty = await #expect(throws: WorkflowError.self) {
            _ = try await engine.start(name: "x", 1, id: "", as: Int.self)
        }
        #expect(empty?.code == .invalidArgument && empty?.message == "a workflow ID must not be empty")
        await engine.shutdown()
    }
}

@Suite("Payload limits", .timeLimit(.minutes(3)))
struct PayloadLimitTests {
    @Test(
        "a step output over the limit fails the step with PayloadTooLarge (recorded); a larger input or message is refused"
    )
    func payloadsOverTheLimit() async throws {
        let dir = TemporaryDirectory()
        var configuration = DurableEngine.Configuration(applicationVersion: "1")
        configuration.maxPayloadBytes = 1000
        let engine = try DurableEngine(directory: dir.data, configuration: configuration)
        engine.register(name: "big") { (size: Int, context: WorkflowContext) -> String in
            do {
                _ = try await context.step("huge") { String(repeating: "x", count: size) }
                return "fit"
            } catch let error as PortableError {
                return error.name
            }
        }
        engine.register(name: "echo") { (text: String, _: WorkflowContext) -> String in text }
        try await engine.launch()
        #expect(try await engine.start(name: "big", 10, id: "small", as: String.self).result() == "fit")
        #expect(try await engine.start(name: "big", 5000, id: "large", as: String.self).result() == "PayloadTooLarge")
        let step = try #require(try await engine.steps(of: "large").first)
        #expect(step.error?.name == "PayloadTooLarge" && step.error?.message.contains("limit is 1000") == true)
        let refused = await #expect(throws: WorkflowError.self) {
            _ = try await engine.start(
                name: "echo", String(repeating: "z", count: 2000), id: "too-big-input", as: String.self)
        }
        #expect(refused?.message.contains("the input of \"echo\"") == true)
        #expect(try await engine.status(of: "too-big-input") == nil, "nothing was stored")
        await #expect(throws: WorkflowError.self) {
            try await engine.send(to: "small", String(repeating: "m", count: 2000))
        }
        await engine.shutdown()
    }
}
