import Foundation
import DurableTesting
import Testing

@testable import DurableLog

@Suite("Record round trips", .timeLimit(.minutes(3)))
struct RoundTripTests {
    static let sizes = [0, 1, 63, 64, 65, 1000, 4096, 65_536, 1 << 20, 16 << 20]

    @Test("payloads from 0 B to 16 MiB come back byte for byte, compressed or raw", arguments: [false, true])
    func payloadsRoundTrip(compressible: Bool) async throws {
        let dir = TemporaryDirectory()
        let store = try LogStore.open(directory: dir.data)
        let payloads = Self.sizes.enumerated().map {
            samplePayload(size: $1, seed: UInt64($0), compressible: compressible)
        }
        let log = try await store.createLog(name: "round-trip", fields: .started("demo"))
        for payload in payloads { try await log.append(RecordDraft(type: stepType, payload: payload)) }
        log.close()

        let contents = try store.readLog(name: "round-trip")
        #expect(contents.outcome == .clean)
        let steps = contents.records.filter { $0.type == stepType }
        #expect(steps.count == payloads.count)
        let identical = steps.map(\.payload) == payloads
        #expect(identical, "payloads differ")
        let codecs = Set(steps.filter { $0.payload.count >= 1000 }.map(\.codec))
        #expect(codecs == (compressible ? [.zstd] : [.raw]))
        #expect(steps.filter { $0.payload.count < 64 }.allSatisfy { $0.codec == .raw })
    }

    @Test("a trained dictionary compresses records and is named by them")
    func dictionaryRoundTrip() async throws {
        let dir = TemporaryDirectory()
        let store = try LogStore.open(directory: dir.data)
        let samples = (0..<2000).map { samplePayload(size: 200 + Int($0 % 300), seed: UInt64($0), compressible: true) }
        let id = try store.trainDictionary(samples: samples, capacity: 16 * 1024)
        try store.useDictionary(id)
        let payloads = Self.sizes.prefix(9).enumerated().map {
            samplePayload(size: $1, seed: UInt64(9000 + $0), compressible: true)
        }
        let log = try await store.createLog(name: "with-dictionary", fields: .started("demo"))
        for payload in payloads { try await log.append(RecordDraft(type: stepType, payload: payload)) }
        log.close()

        // A second store (another process, in effect) loads the dictionary from disk by its ID.
        let reader = try LogStore.open(directory: dir.data)
        let steps = try reader.readLog(name: "with-dictionary").records.filter { $0.type == stepType }
        #expect(steps.count == payloads.count)
        let identical = steps.map(\.payload) == payloads
        #expect(identical, "payloads differ")
        #expect(steps.contains { $0.codec == .zstdDictionary && $0.dictionaryID == id })
    }

    @Test("a payload over the limit is refused with a clear error and nothing is written")
    func oversizedPayloadIsRefused() async throws {
        let dir = TemporaryDirectory()
        let store = try LogStore.open(directory: dir.data)
        let log = try await store.createLog(name: "big", fields: .started("demo"))
        let before = log.durableSize
        let error = await #expect(throws: StorageError.self) {
            try await log.append(
                RecordDraft(type: stepType, payload: [UInt8](repeating: 1, count: LogFormat.maxPayloadSize + 1)))
        }
        #expect(error?.code == .payloadTooLarge)
        #expect(log.durableSize == before)
        try await log.append(RecordDraft(type: stepType, payload: [1, 2, 3]))
        #expect(try store.readLog(name: "big").records.count == 2)
    }
}
