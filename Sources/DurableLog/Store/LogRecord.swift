import DurableStorage

/// The type tag of a log record.
///
/// The storage engine interprets only ``indexUpdate``; every other value belongs to the layer
/// above (the workflow engine) and is stored and returned untouched. Values with bit 7 set are
/// *ignorable*: a reader that does not know them may skip them, which lets a later version add
/// optional record kinds without breaking older readers.
public struct RecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// A change to the workflow's index entry (an encoded ``IndexDelta``). The index is the fold
    /// of these records, which is what makes it rebuildable from the logs.
    public static let indexUpdate = RecordType(rawValue: 1)

    /// Whether readers that do not know this type may skip it.
    public var isIgnorable: Bool { rawValue & 0x80 != 0 }

    public var description: String { self == .indexUpdate ? "indexUpdate" : "type-\(rawValue)" }
}

/// A record to append: its type and its uncompressed payload.
public struct RecordDraft: Sendable {
    /// The record's type.
    public var type: RecordType
    /// The payload as the caller sees it (compression is the store's business).
    public var payload: [UInt8]

    /// Creates a record to append.
    public init(type: RecordType, payload: [UInt8]) {
        self.type = type
        self.payload = payload
    }

    /// An index update record carrying `delta`.
    public static func indexUpdate(_ delta: IndexDelta) -> RecordDraft {
        RecordDraft(type: .indexUpdate, payload: delta.encoded())
    }
}

/// A record read back from a log: verified, decompressed, with its position.
public struct LogRecord: Sendable, Equatable {
    /// 1, 2, 3, ... in file order.
    public var seq: UInt64
    /// The record's type.
    public var type: RecordType
    /// The decompressed payload.
    public var payload: [UInt8]
    /// Where the record starts in the file.
    public var offset: Int
    /// How the payload was stored.
    public var codec: LogFormat.Codec
    /// The compression dictionary used (0 for none).
    public var dictionaryID: UInt16
    /// Bytes the payload occupies on disk (before padding).
    public var storedSize: Int
}
