import DurablePostgres
import DurableTesting
import Foundation
import Testing

@testable import DurableWorkflows

/// The semantics every ``WorkflowStore`` backend keeps, stated as tests and run against each
/// backend (today the file backend; a new backend adds itself to `backends`).
@Suite("Storage protocol conformance", .timeLimit(.minutes(3)))
struct StoreConformanceTests {
    /// A backend under test: its name, and how to open a store on a fresh location (and the
    /// location, for helper processes of the same backend).
    struct Backend: CustomTestStringConvertible, Sendable {
        var name: String
        /// The backend's location for a test's fresh directory (what helper processes are given).
        var location: @Sendable (String) throws -> String
        /// Opens a store on a location.
        var openLocation: @Sendable (String) throws -> any WorkflowStore
        var testDescription: String { name }

        /// A store on the backend's location for `directory`.
        func open(_ directory: String) throws -> any WorkflowStore { try openLocation(location(directory)) }
    }

    static let backends: [Backend] =
        [Backend(name: "file", location: { $0 }, openLocation: { try FileWorkflowStore(directory: $0) })]
        + (postgresAvailable
            ? [
                Backend(
                    name: "postgres", location: { try postgresLocation(for: $0) },
                    openLocation: { try PostgresWorkflowStore(url: $0) })
            ] : [])

    static func fields(_ name: String = "w") -> WorkflowFields {
        var fields = WorkflowFields()
        fields.name = name
        fields.status = .pending
        fields.createdAt = 1
        return fields
    }

    static func started(_ name: String = "w") -> WorkflowEvent {
        .started(
            StartRecord(
                name: name, inputs: #"{"namedArgs":{},"positionalArgs":[1]}"#, applicationVersion: "1",
                executorID: "e", createdAt: 1))
    }

    /// The events of `history` an engine appended: without the status changes a store records.
    static func appended(_ history: [WorkflowEvent]) -> [WorkflowEvent] {
        history.filter {
            if case .statusChanged = $0 { return false }
            return true
        }
    }

    static func operation(_ position: Int, output: String? = "\"ok\"") -> WorkflowEvent {
        .operation(
            OperationRecord(
                functionID: position, name: "step-\(position)", kind: "step", output: output, error: nil, startedAt: 2,
                completedAt: 3, attempts: 1, key: "k\u{e9}\"'"))
    }

    @Test("create is idempotent by ID: a second create gets nil and changes nothing", arguments: backends)
    func createIsIdempotent(backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let store = try backend.open(dir.data)
        let lease = try #require(try await store.create("a", fields: Self.fields(), events: [Self.started()]))
        #expect(lease.workflowID == "a")
        #expect(try await store.create("a", fields: Self.fields("other"), events: [Self.started("other")]) == nil)
        lease.release()
        #expect(try await store.create("a", fields: Self.fields("other"), events: [Self.started("other")]) == nil)
        let history = try await store.history(of: "a")
        #expect(Self.appended(history) == [Self.started()], "the first create's events stand")
        #expect(WorkflowHistory(workflowID: "a", events: history).fields.name == "w")
    }

    @Test("events come back in order and exactly as appended, whoever reads them", arguments: backends)
    func eventsRoundTrip(backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let store = try backend.open(dir.data)
        let lease = try #require(try await store.create("rt", fields: Self.fields(), events: [Self.started()]))
        var change = WorkflowFields()
        change.status = .enqueued
        change.delayUntil = 99
        let appended: [WorkflowEvent] = [
            Self.operation(1), Self.operation(2, output: nil),
            .attempt(AttemptRecord(attempt: 2, executorID: "e2", at: 5)),
            .inputsReplaced(InputsRecord(inputs: "[2]", at: 6)),
            .statusChanged(change),
            .ended(
                EndRecord(
                    status: "ERROR", output: nil, error: PortableError(name: "Boom", message: "<b>"), completedAt: 7)),
            .resumed(ResumeRecord(at: 8, executorID: "e3", clearedControls: ["c1"])),
        ]
        try await lease.append(Array(appended[0..<2]))
        try await lease.append(Array(appended[2...]))
        let history = try await store.history(of: "rt")
        #expect(Self.appended(history) == [Self.started()] + appended.filter { Self.appended([$0]) == [$0] })
        #expect(history.contains(.statusChanged(change)), "a status change comes back as it was appended")
        let folded = WorkflowHistory(workflowID: "rt", events: history)
        #expect(folded.fields.delayUntil == 99)
        #expect(folded.fields.recoveryAttempts == 2, "an attempt implies its count")
        #expect(folded.status == .error, "an end implies its status (folded after the change before it)")
        let reopened = try backend.open(dir.data)
        #expect(try await reopened.history(of: "rt") == history)
        lease.release()
    }

    @Test("an unknown ID is notFound, named, for history and claim", arguments: backends)
    func unknownIDIsNotFound(backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let store = try backend.open(dir.data)
        let history = await #expect(throws: WorkflowStoreError.self) { try await store.history(of: "nope") }
        #expect(history?.code == .notFound)
        #expect(history?.description.contains("nope") == true)
        let claim = await #expect(throws: WorkflowStoreError.self) { try await store.claim("nope") }
        #expect(claim?.code == .notFound)
    }

    @Test("one lease at a time: claim is nil while held, and succeeds once released", arguments: backends)
    func claimWaitsForRelease(backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let store = try backend.open(dir.data)
        let lease = try #require(try await store.create("c", fields: Self.fields(), events: [Self.started()]))
        try await lease.append([Self.operation(1)])
        #expect(try await store.claim("c") == nil)
        lease.release()
        let claim = try #require(try await store.claim("c"))
        #expect(Self.appended(claim.events) == [Self.started(), Self.operation(1)])
        #expect(try await store.claim("c") == nil, "the new holder has it")
        claim.lease.release()
    }

    @Test(
        "across processes: of many creates of one ID one wins; a claim waits until the holder dies", arguments: backends
    )
    func leaseAcrossProcesses(backend: Backend) async throws {
        let dir = TemporaryDirectory()
        _ = try backend.open(dir.data)
        let racers = try (0..<4).map { _ in
            try ChildProcess("DurableTestHelper", ["store-take", try backend.location(dir.data), "race"])
        }
        let outcomes = racers.map { $0.firstLine() }
        #expect(outcomes.filter { $0 == "created" }.count == 1, "\(outcomes)")
        #expect(outcomes.filter { $0 == "held" }.count == 3, "\(outcomes)")
        let store = try backend.open(dir.data)
        #expect(try await store.claim("race") == nil, "a live process holds it")
        for racer in racers {
            racer.kill()
            _ = racer.wait()
        }
        let claim = try #require(try await store.claim("race"), "the holder died, so the lease is free")
        claim.lease.release()
    }

    @Test(
        "fields reflect every acknowledged append at once, seen from another store on the same data",
        arguments: backends)
    func fieldsFollowAppends(backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let store = try backend.open(dir.data)
        let reader = try backend.open(dir.data)
        #expect(try await reader.fields(of: "f") == nil)
        let lease = try #require(try await store.create("f", fields: Self.fields(), events: [Self.started()]))
        #expect(try await reader.fields(of: "f")?.status == .pending)
        #expect(try await reader.fields(of: "f")?.name == "w")
        try await lease.append([.end(.success, output: "1", error: nil, at: 9)])
        #expect(try await reader.fields(of: "f")?.status == .success, "no lag behind an acknowledged end")
        #expect(try await reader.fields(of: "f")?.updatedAt == 9)
        lease.release()
    }

    @Test("list filters by status, name and ID prefix, and pages in creation order", arguments: backends)
    func listFiltersAndPages(backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let store = try backend.open(dir.data)
        for i in 0..<6 {
            var fields = Self.fields(i < 3 ? "alpha" : "beta")
            fields.createdAt = Int64(100 - i)  // created in reverse order of their IDs
            let lease = try #require(
                try await store.create("w-\(i)", fields: fields, events: [Self.started(fields.name!)]))
            if i.isMultiple(of: 2) { try await lease.append([.end(.success, output: "1", error: nil, at: 200)]) }
            lease.release()
        }
        let all = try await store.list(WorkflowFilter())
        #expect(all.map(\.workflowID) == (0..<6).reversed().map { "w-\($0)" }, "oldest first")
        var filter = WorkflowFilter()
        filter.statuses = [.success]
        #expect(Set(try await store.list(filter).map(\.workflowID)) == ["w-0", "w-2", "w-4"])
        filter = WorkflowFilter()
        filter.name = "alpha"
        filter.newestFirst = true
        filter.offset = 1
        filter.limit = 1
        #expect(try await store.list(filter).map(\.workflowID) == ["w-1"])
        filter = WorkflowFilter()
        filter.idPrefix = "w-5"
        #expect(try await store.list(filter).map(\.name) == ["beta"])
    }

    @Test(
        "the inbox keeps items in delivery order, at most once per ID, only for workflows that exist",
        arguments: backends)
    func inboxDeliversOncePerID(backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let store = try backend.open(dir.data)
        let lease = try #require(try await store.create("box", fields: Self.fields(), events: [Self.started()]))
        #expect(try await store.inbox(of: "box").isEmpty)
        let first = InboxItem.message(InboxMessage(id: "m1", topic: "t", value: #"{"a":"<'\""}"#, sentAt: 1))
        let cancel = InboxItem.control(ControlRequest(id: "c1", action: ControlRequest.cancel, at: 2))
        let second = InboxItem.message(InboxMessage(id: "m2", topic: nil, value: "2", sentAt: 3))
        #expect(try await store.deliver(first, to: "box"))
        #expect(try await store.deliver(cancel, to: "box"))
        #expect(try await store.deliver(first, to: "box") == false, "a second delivery of m1 is a no-op")
        #expect(try await store.deliver(second, to: "box"))
        let other = try backend.open(dir.data)
        #expect(try await other.inbox(of: "box") == [first, cancel, second])
        let missing = await #expect(throws: WorkflowStoreError.self) { try await store.deliver(first, to: "nobody") }
        #expect(missing?.code == .notFound)
        lease.release()
    }

    @Test("recoverable lists pending workflows of the version (or of none), oldest first", arguments: backends)
    func recoverableSelectsPendingOfVersion(backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let store = try backend.open(dir.data)
        for (id, version, ends, createdAt) in [
            ("v1-late", "1", false, 20), ("v1-early", "1", false, 10), ("v2", "2", false, 5), ("v1-done", "1", true, 1),
            ("unpinned", "", false, 30),
        ] {
            var fields = Self.fields()
            fields.applicationVersion = version
            fields.createdAt = Int64(createdAt)
            let lease = try #require(try await store.create(id, fields: fields, events: [Self.started()]))
            if ends { try await lease.append([.end(.success, output: "1", error: nil, at: 2)]) }
            lease.release()
        }
        let ids = try await store.recoverable(applicationVersion: "1").map(\.workflowID)
        #expect(ids == ["v1-early", "v1-late", "unpinned"])
    }

    @Test(
        "a follower reads each event once, in order, and a wait ends as soon as another store appends",
        arguments: backends)
    func followerReadsAppendsOnce(backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let store = try backend.open(dir.data)
        let follower = try await store.follow("fw")
        #expect(try await follower.read().elements.isEmpty, "nothing exists yet")
        let writer = try backend.open(dir.data)
        let lease = try #require(try await writer.create("fw", fields: Self.fields(), events: [Self.started()]))
        var seen = Self.appended(try await follower.read().elements)
        #expect(seen == [Self.started()])
        #expect(try await follower.read().elements.isEmpty, "each event is read once")
        let clock = ContinuousClock()
        let waited = try await clock.measure {
            async let wait: Void = follower.waitForAppend(timeout: .seconds(20))
            try await Task.sleep(for: .milliseconds(50))
            try await lease.append([Self.operation(1)])
            await wait
        }
        #expect(waited < .seconds(10), "woken by the append, not by the timeout")
        seen += Self.appended(try await follower.read().elements)
        #expect(seen == [Self.started(), Self.operation(1)])
        let timedOut = await clock.measure { await follower.waitForAppend(timeout: .milliseconds(100)) }
        #expect(timedOut < .seconds(10), "a wait with nothing appended ends at its timeout")
        #expect(try await follower.read().elements.isEmpty, "and finds nothing new")
        lease.release()
    }

    @Test(
        "an inbox follower sees deliveries from another store in order, and a quarantine ends following",
        arguments: backends)
    func inboxFollowerAndQuarantine(backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let store = try backend.open(dir.data)
        let lease = try #require(try await store.create("ib", fields: Self.fields(), events: [Self.started()]))
        let follower = try await store.followInbox(of: "ib")
        #expect(try await follower.read().elements.isEmpty)
        let sender = try backend.open(dir.data)
        let one = InboxItem.message(InboxMessage(id: "1", topic: nil, value: "1", sentAt: 1))
        let two = InboxItem.message(InboxMessage(id: "2", topic: "t", value: "2", sentAt: 2))
        async let wait: Void = follower.waitForAppend(timeout: .seconds(20))
        try await sender.deliver(one, to: "ib")
        await wait
        #expect(follower.mayHaveAppends())
        try await sender.deliver(two, to: "ib")
        var items = try await follower.read().elements
        items += try await follower.read().elements
        #expect(items == [one, two])
        lease.release()

        try await store.quarantine("ib", reason: "damaged on purpose")
        let ended = await #expect(throws: WorkflowStoreError.self) { try await follower.read() }
        #expect(ended?.code == .damaged && ended?.message.contains("damaged on purpose") == true)
        let history = await #expect(throws: WorkflowStoreError.self) { try await store.follow("ib").read() }
        #expect(history?.code == .damaged)
        let claim = await #expect(throws: WorkflowStoreError.self) { try await store.claim("ib") }
        #expect(claim?.code == .damaged, "a quarantined workflow is not claimed")
        #expect(try await store.list(WorkflowFilter()).first?.corruption == "damaged on purpose")
    }

    @Test(
        "enqueue: one holder per deduplication ID among live workflows of a queue, idempotent by ID",
        arguments: backends)
    func enqueueDeduplicates(backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let store = try backend.open(dir.data)
        func queued(_ dedup: String?) -> WorkflowFields {
            var fields = Self.fields()
            fields.queueName = "q"
            fields.status = .enqueued
            fields.deduplicationID = dedup
            return fields
        }
        #expect(try await store.enqueue("a", fields: queued("d"), events: [Self.started()]) == .created)
        #expect(try await store.enqueue("a", fields: queued(nil), events: [Self.started()]) == .exists)
        #expect(
            try await store.enqueue("b", fields: queued("d"), events: [Self.started()]) == .deduplicated(holder: "a"))
        #expect(try await store.enqueue("c", fields: queued("e"), events: [Self.started()]) == .created)
        let sequences = try await [store.fields(of: "a"), store.fields(of: "c")].map { $0?.enqueueSequence }
        #expect(sequences[0] != nil && sequences[0]! < sequences[1]!, "first in, first out")
        // Once the holder ends, the ID is free again.
        let request = DequeueRequest(
            queue: QueueConfiguration(name: "q"), executorID: "e", applicationVersion: "1", canRun: { _ in true },
            runningHere: [:], now: { 10 })
        let started = try await store.dequeue(request).started
        #expect(started.map(\.lease.workflowID) == ["a", "c"])
        for claim in started {
            try await claim.lease.append([.end(.success, output: "1", error: nil, at: 11)])
            claim.lease.release()
        }
        #expect(try await store.enqueue("b", fields: queued("d"), events: [Self.started()]) == .created)
    }

    @Test("an append through a lease given up is refused as ownershipLost and records nothing", arguments: backends)
    func appendAfterReleaseIsRefused(backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let store = try backend.open(dir.data)
        let lease = try #require(try await store.create("gone", fields: Self.fields(), events: [Self.started()]))
        try await lease.append([Self.operation(1)])
        lease.release()
        let error = await #expect(throws: WorkflowStoreError.self) { try await lease.append([Self.operation(2)]) }
        #expect(error?.code == .ownershipLost && error?.workflowID == "gone", "\(String(describing: error))")
        #expect(Self.appended(try await store.history(of: "gone")) == [Self.started(), Self.operation(1)])
        // Whoever claims it next appends after what was acknowledged.
        let claim = try #require(try await store.claim("gone"))
        try await claim.lease.append([Self.operation(2)])
        claim.lease.release()
        #expect(Self.appended(try await store.history(of: "gone")).count == 3)
    }

    @Test(
        "a wait on a queue ends as soon as another store enqueues to it, and times out otherwise", arguments: backends)
    func queueWaitEndsOnEnqueue(backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let waiter = try backend.open(dir.data)
        let other = try backend.open(dir.data)
        var version = await waiter.queueVersion("n")
        let quiet = ContinuousClock.now
        await waiter.waitForQueue("n", after: version, timeout: .milliseconds(200))
        #expect(ContinuousClock.now - quiet >= .milliseconds(150), "nothing changed: the wait ran its time")
        version = await waiter.queueVersion("n")
        let start = ContinuousClock.now
        async let woken: Void = waiter.waitForQueue("n", after: version, timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(50))
        var fields = Self.fields()
        fields.queueName = "n"
        fields.status = .enqueued
        #expect(try await other.enqueue("n1", fields: fields, events: [Self.started()]) == .created)
        await woken
        #expect(ContinuousClock.now - start < .seconds(10), "the enqueue ended the wait, not its 30 s timeout")
        #expect(await waiter.queueVersion("n") != version)
    }

    @Test(
        "dequeue keeps the global concurrency limit and starts by priority, then first in first out",
        arguments: backends)
    func dequeueKeepsLimitsAndOrder(backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let store = try backend.open(dir.data)
        for (id, priority) in [("p0-first", 0), ("p5", 5), ("p0-second", 0), ("p1", 1)] {
            var fields = Self.fields()
            fields.queueName = "lim"
            fields.status = .enqueued
            fields.priority = Int64(priority)
            #expect(try await store.enqueue(id, fields: fields, events: [Self.started()]) == .created)
        }
        let request = DequeueRequest(
            queue: QueueConfiguration(name: "lim", concurrency: 2), executorID: "e", applicationVersion: "1",
            canRun: { _ in true }, runningHere: [:], now: { 10 })
        let first = try await store.dequeue(request).started
        #expect(first.map(\.lease.workflowID) == ["p0-first", "p0-second"], "unprioritised first, in order")
        let other = try backend.open(dir.data)
        #expect(try await other.dequeue(request).started.isEmpty, "two run: the limit holds across stores")
        try await first[0].lease.append([.end(.success, output: "1", error: nil, at: 11)])
        first[0].lease.release()
        let next = try await other.dequeue(request).started
        #expect(next.map(\.lease.workflowID) == ["p1"], "then ascending priority")
        for claim in next + [first[1]] { claim.lease.release() }
    }

    @Test(
        "delivery stays at most once per ID between stores that each remember what they read of the inbox",
        arguments: backends)
    func deliveryOncePerIDAcrossStores(backend: Backend) async throws {
        let dir = TemporaryDirectory()
        let one = try backend.open(dir.data)
        let two = try backend.open(dir.data)
        let lease = try #require(try await one.create("twice", fields: Self.fields(), events: [Self.started()]))
        func message(_ id: String) -> InboxItem {
            .message(InboxMessage(id: id, topic: nil, value: "\"\(id)\"", sentAt: 1))
        }
        #expect(try await one.deliver(message("a"), to: "twice"))
        #expect(try await two.deliver(message("a"), to: "twice") == false, "the other store's delivery is seen")
        #expect(try await one.deliver(message("b"), to: "twice"))
        #expect(try await two.deliver(message("b"), to: "twice") == false, "and so is what it delivered since")
        #expect(try await two.deliver(message("c"), to: "twice"))
        #expect(try await one.deliver(message("c"), to: "twice") == false)
        for i in 0..<300 { try await (i.isMultiple(of: 2) ? one : two).deliver(message("m\(i)"), to: "twice") }
        #expect(try await one.deliver(message("m299"), to: "twice") == false)
        #expect(try await two.deliver(message("m298"), to: "twice") == false)
        let ids = try await one.inbox(of: "twice").map(\.id)
        #expect(ids == ["a", "b", "c"] + (0..<300).map { "m\($0)" }, "each once, in delivery order")
        lease.release()
    }
}
