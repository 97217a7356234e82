import DurableStorage

/// The fixed-length identity of a log: the first 16 bytes of SHA-256 of its name.
///
/// Workflow IDs are arbitrary user strings (`../x`, `a/b`, unicode, 10 KB). They never become
/// paths: the file is named by this key in hex, and the exact ID is stored inside the log.
public struct LogKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    // The 16 bytes, big-endian, held inline: a key is in every index bucket and queue set, and
    // an array would cost a heap allocation each.
    private let high: UInt64
    private let low: UInt64

    /// The 16 key bytes.
    public var bytes: [UInt8] {
        (0..<16).map { i in UInt8(truncatingIfNeeded: (i < 8 ? high : low) >> (56 - 8 * UInt64(i % 8))) }
    }

    /// The longest accepted name, in UTF-8 bytes.
    public static let maxNameLength = StorageLimits.maxNameBytes

    /// Derives the key of a workflow ID (or other user-supplied name), validating it.
    ///
    /// - Parameter what: What the name is, for the error (`"a queue name"`, `"a topic"`).
    /// - Throws: ``StorageError/Code/invalidName`` if the name is empty, contains NUL, or is
    ///   longer than ``maxNameLength`` bytes.
    public init(name: String, what: String = "a workflow ID") throws(StorageError) {
        try Self.validate(name, what: what)
        self.init(raw: SHA256.hash(Array(name.utf8)).prefix(16))
    }

    private init(raw: some Collection<UInt8>) {
        var high: UInt64 = 0, low: UInt64 = 0
        for (i, byte) in raw.enumerated() {
            if i < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.high = high
        self.low = low
    }

    /// Wraps 16 raw key bytes (as read from a file header or index).
    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.init(raw: bytes)
    }

    /// Parses the 32-character hex form used in file names.
    public init?(hex: String) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 32 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(16)
        for i in stride(from: 0, to: 32, by: 2) {
            guard let hi = Self.nibble(utf8[i]), let lo = Self.nibble(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
        }
        self.init(raw: out)
    }

    /// Checks that `name` may be used as a workflow ID or other stored name.
    public static func validate(_ name: String, what: String = "a workflow ID") throws(StorageError) {
        if name.isEmpty { throw StorageError(.invalidName, "\(what) must not be empty") }
        if name.utf8.contains(0) { throw StorageError(.invalidName, "\(what) must not contain a NUL character") }
        if name.utf8.count > maxNameLength {
            throw StorageError(.invalidName, "\(what) must be at most \(maxNameLength) bytes, got \(name.utf8.count)")
        }
    }

    /// The lowercase hex form (32 characters).
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The shard directory name (first byte in hex).
    public var shard: String { String(hex.prefix(2)) }

    public var description: String { hex }

    public static func < (lhs: LogKey, rhs: LogKey) -> Bool { (lhs.high, lhs.low) < (rhs.high, rhs.low) }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
