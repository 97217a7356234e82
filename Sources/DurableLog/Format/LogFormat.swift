/// Constants and layouts of the on-disk log format (version 1).
///
/// The byte layout and the version rules are documented in the `LogFormat` DocC article.
public enum LogFormat {
    /// `\x89WFL\r\n\x1a\n`: catches text-mode mangling and truncated copies, as PNG's magic does.
    public static let magic: [UInt8] = [0x89, 0x57, 0x46, 0x4C, 0x0D, 0x0A, 0x1A, 0x0A]
    /// The format version this build writes. Readers accept every version up to this one.
    public static let version: UInt16 = 1
    /// Size of the file header.
    public static let fileHeaderSize = 64
    /// Size of a record header.
    public static let recordHeaderSize = 24
    /// Records start at offsets that are multiples of this.
    public static let alignment = 8
    /// The largest payload (before or after compression) a record may carry: 64 MiB.
    public static let maxPayloadSize = 64 * 1024 * 1024

    /// What a file holds.
    public enum FileKind: UInt8, Sendable {
        /// One workflow's event log.
        case workflowLog = 1
        /// The index's append-only delta log.
        case indexLog = 2
        /// An immutable index snapshot.
        case indexSnapshot = 3
        /// A workflow's inbox: messages sent to it, appended by any process.
        case inbox = 4
    }

    /// How a record's payload is stored.
    public enum Codec: UInt8, Sendable {
        /// Stored as is (tiny or incompressible payloads).
        case raw = 0
        /// One zstd frame.
        case zstd = 1
        /// One zstd frame compressed with the dictionary named by the record's dictionary ID.
        case zstdDictionary = 2
    }

    static func alignedUp(_ n: Int) -> Int { (n + alignment - 1) & ~(alignment - 1) }
}

/// The 64-byte header at the start of every log file.
struct FileHeader: Equatable, Sendable {
    var version: UInt16 = LogFormat.version
    var kind: LogFormat.FileKind
    var flags: UInt8 = 0
    var salt: UInt64
    var key: [UInt8]
    var createdAt: Int64

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: LogFormat.fileHeaderSize)
        w.raw(LogFormat.magic)
        w.u16(version)
        w.u16(UInt16(LogFormat.fileHeaderSize))
        w.u8(kind.rawValue)
        w.u8(flags)
        w.u16(0)
        w.u64(salt)
        w.raw(key.count == 16 ? key : [UInt8](repeating: 0, count: 16))
        w.i64(createdAt)
        w.zeros(12)
        w.u32(CRC32C.mask(CRC32C.checksum(w.bytes)))
        return w.bytes
    }

    /// Parses and verifies a header. Returns a reason on failure.
    static func decode(_ bytes: ArraySlice<UInt8>) -> Result<FileHeader, HeaderProblem> {
        guard bytes.count >= LogFormat.fileHeaderSize else { return .failure(.short) }
        let header = bytes.prefix(LogFormat.fileHeaderSize)
        guard header.prefix(8).elementsEqual(LogFormat.magic) else { return .failure(.badMagic) }
        var r = ByteReader(header)
        _ = r.take(8)
        let version = r.u16()!
        let size = r.u16()!
        let kindRaw = r.u8()!
        let flags = r.u8()!
        _ = r.u16()
        let salt = r.u64()!
        let key = Array(r.take(16)!)
        let created = r.i64()!
        _ = r.take(12)
        let stored = r.u32()!
        guard CRC32C.mask(CRC32C.checksum(header.prefix(60))) == stored else { return .failure(.badChecksum) }
        guard version >= 1, version <= LogFormat.version else { return .failure(.unsupportedVersion(version)) }
        guard size == UInt16(LogFormat.fileHeaderSize), let kind = LogFormat.FileKind(rawValue: kindRaw) else {
            return .failure(.badChecksum)
        }
        return .success(
            FileHeader(version: version, kind: kind, flags: flags, salt: salt, key: key, createdAt: created))
    }

    enum HeaderProblem: Error, Equatable {
        case short, badMagic, badChecksum, unsupportedVersion(UInt16)
    }
}
