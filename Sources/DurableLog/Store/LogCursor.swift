#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A reading position in a log or an inbox, for following it as it grows: each
/// ``LogStore/readNewRecords(_:)`` returns only what was appended since the last call, so a
/// waiter that wakes many times reads each record once instead of the whole file every time.
///
/// The cursor advances past complete, verified records only; a record still being written (or a
/// torn tail) is read again on the next call. Each call first re-verifies the last record it
/// returned: if that record is gone (a writer cut back a failed write, or the file was replaced),
/// the cursor starts over from the beginning and ``resets`` grows, telling the caller to drop
/// what it built from earlier records.
public struct LogCursor: Sendable {
    /// The file followed.
    public let path: String
    let key: LogKey
    let kind: LogFormat.FileKind
    /// The end of the last complete record read (0 before the header has been read).
    var offset = 0
    /// Where the last record read starts (0: none yet), and its checksum (its identity).
    var lastRecordOffset = 0
    var lastRecordChecksum: UInt32 = 0
    var salt: UInt64 = 0
    /// The sequence number of the last record read (0: none yet).
    public private(set) var lastSeq: UInt64 = 0
    /// How many times the cursor had to start over.
    public private(set) var resets = 0

    init(path: String, key: LogKey, kind: LogFormat.FileKind) {
        self.path = path
        self.key = key
        self.kind = kind
    }

    fileprivate mutating func startOver() {
        offset = 0
        lastRecordOffset = 0
        salt = 0
        lastSeq = 0
        resets += 1
    }

    fileprivate mutating func advance(
        to offset: Int, lastRecordOffset: Int, checksum: UInt32, lastSeq: UInt64, salt: UInt64
    ) {
        self.offset = offset
        self.lastRecordOffset = lastRecordOffset
        lastRecordChecksum = checksum
        self.lastSeq = lastSeq
        self.salt = salt
    }
}

extension LogStore {
    /// A cursor at the start of workflow `name`'s log.
    public func logCursor(name: String) throws(StorageError) -> LogCursor {
        let key = try LogKey(name: name)
        return LogCursor(path: layout.logPath(key), key: key, kind: .workflowLog)
    }

    /// A cursor at the start of workflow `name`'s inbox.
    public func inboxCursor(name: String) throws(StorageError) -> LogCursor {
        let key = try LogKey(name: name)
        return LogCursor(path: layout.inboxPath(key), key: key, kind: .inbox)
    }

    /// The records appended to the cursor's file since the last call (all of them on the first,
    /// or after the cursor had to start over), read without a lock; none if the file does not
    /// exist yet or has only part of its header.
    public func readNewRecords(_ cursor: inout LogCursor) async throws(StorageError) -> [LogRecord] {
        let start = cursor
        let (records, next) = try await io.run { [self] () throws(StorageError) -> ([LogRecord], LogCursor) in
            var cursor = start
            let records = try readNewRecordsBlocking(&cursor)
            return (records, cursor)
        }
        cursor = next
        return records
    }

    /// ``readNewRecords(_:)`` on the calling thread (an I/O thread).
    func readNewRecordsBlocking(_ cursor: inout LogCursor) throws(StorageError) -> [LogRecord] {
        let fd: Int32
        do throws(StorageError) {
            fd = try SystemCall.open(cursor.path, O_RDONLY_FLAG)
        } catch {
            if error.code == .notFound { return [] }
            throw error
        }
        defer { SystemCall.close(fd) }
        let size = try SystemCall.fileSize(fd, path: cursor.path)
        if size < cursor.offset { cursor.startOver() }
        while true {
            if let records = try readFrames(fd: fd, size: size, cursor: &cursor) { return records }
            cursor.startOver()  // the last record returned is gone
        }
    }

    /// The stored checksum of the record framed at `offset` (the first four bytes of its header).
    private static func checksum(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        var reader = ByteReader(bytes[offset..<offset + 4])
        return reader.u32() ?? 0
    }

    /// Parses the frames after the cursor; `nil` if the last record the cursor returned no longer
    /// verifies at its place.
    private func readFrames(fd: Int32, size: Int, cursor: inout LogCursor) throws(StorageError) -> [LogRecord]? {
        // Read from the last record returned, to check it is still there.
        let base = cursor.lastSeq > 0 ? cursor.lastRecordOffset : cursor.offset
        guard size > max(base, LogFormat.fileHeaderSize - 1) else { return [] }
        let bytes = try SystemCall.read(fd, count: size - base, at: base, path: cursor.path)
        var position = 0
        var salt = cursor.salt
        var lastSeq = cursor.lastSeq
        var lastRecordOffset = cursor.lastRecordOffset
        var checksum = cursor.lastRecordChecksum
        if cursor.lastSeq > 0 {
            guard let previous = RecordFrame.parse(bytes, at: 0, salt: salt, minimumSeq: lastSeq),
                previous.seq == lastSeq,
                Self.checksum(bytes, at: 0) == cursor.lastRecordChecksum
            else { return nil }
            position = previous.footprint
        } else if cursor.offset == 0 {
            guard case .success(let header) = FileHeader.decode(bytes[...]), header.kind == cursor.kind,
                header.key == cursor.key.bytes
            else {
                // An inbox's header is written by its first sender under the lock; until then
                // the file may be empty. Anything else is damage the full reader reports.
                if cursor.kind == .inbox && bytes.allSatisfy({ $0 == 0 }) { return [] }
                throw StorageError(
                    .corrupted, "the file's header is damaged or belongs to another file", path: cursor.path)
            }
            salt = header.salt
            position = LogFormat.fileHeaderSize
        }
        var records: [LogRecord] = []
        while let frame = RecordFrame.parse(bytes, at: position, salt: salt, minimumSeq: lastSeq + 1),
            frame.seq == lastSeq + 1
        {
            records.append(
                LogRecord(
                    seq: frame.seq, type: RecordType(rawValue: frame.type),
                    payload: try codec.decode(frame, path: cursor.path),
                    offset: base + frame.offset, codec: LogFormat.Codec(rawValue: frame.codec) ?? .raw,
                    dictionaryID: frame.dictionaryID, storedSize: frame.stored.count))
            lastSeq = frame.seq
            lastRecordOffset = base + position
            checksum = Self.checksum(bytes, at: position)
            position += frame.footprint
        }
        // Bytes that do not parse are a record being written, unless a valid record follows
        // them: then the file is damaged, and waiting for it to heal would wait forever.
        if position < bytes.count, !bytes[position...].allSatisfy({ $0 == 0 }) {
            var probe = position + LogFormat.alignment
            while probe + LogFormat.recordHeaderSize <= bytes.count {
                if RecordFrame.parse(bytes, at: probe, salt: salt, minimumSeq: lastSeq + 1) != nil {
                    throw StorageError(
                        .corrupted,
                        "damaged bytes at offset \(base + position) are followed by a valid record at offset \(base + probe)",
                        path: cursor.path)
                }
                probe += LogFormat.alignment
            }
        }
        cursor.advance(
            to: base + position, lastRecordOffset: lastRecordOffset, checksum: checksum, lastSeq: lastSeq, salt: salt)
        return records
    }
}
