import DurableStorage
import Foundation
import DurableTesting
import Testing

@testable import DurableLog

/// Deterministic pseudo-random bytes; `compressible` makes them repetitive JSON-like text.
func samplePayload(size: Int, seed: UInt64, compressible: Bool) -> [UInt8] {
    var state = seed &+ 0x9E37_79B9_7F4A_7C15
    func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 33
    }
    if compressible {
        let words = ["{\"step\":", "\"charge\"", ",\"amount\":", "1299", ",\"currency\":\"EUR\"", "}", " "]
        var out: [UInt8] = []
        out.reserveCapacity(size)
        while out.count < size { out += Array(words[Int(next() % UInt64(words.count))].utf8) }
        return Array(out.prefix(size))
    }
    return (0..<size).map { _ in UInt8(truncatingIfNeeded: next()) }
}

/// Reads a file's bytes.
func fileBytes(_ path: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path) ?? Data()) }

/// Writes a file's bytes.
/// Replaces a file's bytes in place; a failure is recorded with its reason (never ignored).
func writeFile(_ path: String, _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    } catch {
        Issue.record("could not write \(path): \(error)", sourceLocation: sourceLocation)
    }
}

extension IndexFields {
    static func started(_ name: String, status: WorkflowStatus = .pending) -> IndexFields {
        var fields = IndexFields()
        fields.name = name
        fields.status = status
        fields.createdAt = 1_700_000_000_000
        return fields
    }
}

let stepType = RecordType(rawValue: 0x10)
