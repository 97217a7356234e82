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
/// torn tail) is read again on the next call. A new owner cuts a torn tail at or after the cursor,
/// never before it, so a cursor never skips a record.
public struct LogCursor: Sendable {
    /// The file followed.
    public let path: String
    let key: LogKey
    let kind: LogFormat.FileKind
    /// The end of the last complete record read (0 before the header has been read).
    var offset = 0
    var salt: UInt64 = 0
    /// The sequence number of the last record read (0: none yet).
    public private(set) var lastSeq: UInt64 = 0

    init(path: String, key: LogKey, kind: LogFormat.FileKind) {
        self.path = path
        self.key = key
        self.kind = kind
    }

    fileprivate mutating func advance(to offset: Int, lastSeq: UInt64, salt: UInt64) {
        self.offset = offset
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

    /// The records appended to the cursor's file since the last call (all of them on the first),
    /// read without a lock; none if the file does not exist yet or has only part of its header.
    public func readNewRecords(_ cursor: inout LogCursor) async throws(StorageError) -> [LogRecord] {
        let start = cursor
        let (records, next) = try await io.run { [self] () throws(StorageError) -> ([LogRecord], LogCursor) in
            var cursor = start
            let fd: Int32
            do throws(StorageError) {
                fd = try SystemCall.open(cursor.path, O_RDONLY_FLAG)
            } catch {
                if error.code == .notFound { return ([], cursor) }
                throw error
            }
            defer { SystemCall.close(fd) }
            let size = try SystemCall.fileSize(fd, path: cursor.path)
            guard size > max(cursor.offset, LogFormat.fileHeaderSize - 1) else { return ([], cursor) }
            let bytes = try SystemCall.read(fd, count: size - cursor.offset, at: cursor.offset, path: cursor.path)
            var position = 0
            var salt = cursor.salt
            if cursor.offset == 0 {
                guard case .success(let header) = FileHeader.decode(bytes[...]), header.kind == cursor.kind, header.key == cursor.key.bytes
                else {
                    // An inbox's header is written by its first sender under the lock; until then
                    // the file may be empty. Anything else is damage the full reader reports.
                    if cursor.kind == .inbox && bytes.allSatisfy({ $0 == 0 }) { return ([], cursor) }
                    throw StorageError(.corrupted, "the file's header is damaged or belongs to another file", path: cursor.path)
                }
                salt = header.salt
                position = LogFormat.fileHeaderSize
            }
            var records: [LogRecord] = []
            var lastSeq = cursor.lastSeq
            while let frame = RecordFrame.parse(bytes, at: position, salt: salt, minimumSeq: lastSeq + 1), frame.seq == lastSeq + 1 {
                records.append(
                    LogRecord(
                        seq: frame.seq, type: RecordType(rawValue: frame.type), payload: try codec.decode(frame, path: cursor.path),
                        offset: cursor.offset + frame.offset, codec: LogFormat.Codec(rawValue: frame.codec) ?? .raw,
                        dictionaryID: frame.dictionaryID, storedSize: frame.stored.count))
                lastSeq = frame.seq
                position += frame.footprint
            }
            cursor.advance(to: cursor.offset + position, lastSeq: lastSeq, salt: salt)
            return (records, cursor)
        }
        cursor = next
        return records
    }
}
