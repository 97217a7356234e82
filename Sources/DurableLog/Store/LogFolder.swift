#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DurableStorage

/// The workflow logs of a data directory, read without a lock and without the index: what the
/// store's readers use, and what an index is rebuilt from (the logs are the truth).
struct LogFolder: Sendable {
    let layout: DataDirectory
    let codec: PayloadCodec

    /// The keys of every log file (one `readdir` per shard; no file is opened), sorted.
    func allLogKeys() throws(StorageError) -> [LogKey] {
        var keys: [LogKey] = []
        for shard in try SystemCall.listDirectory(layout.workflowsDirectory).sorted() {
            for file in try SystemCall.listDirectory("\(layout.workflowsDirectory)/\(shard)")
            where file.hasSuffix(".wlog") {
                if let key = LogKey(hex: String(file.dropLast(5))) { keys.append(key) }
            }
        }
        return keys.sorted()
    }

    /// Reads and verifies the log of `key` (lock-free; a consistent prefix beside a live writer).
    func readLog(key: LogKey) throws(StorageError) -> LogContents {
        let path = layout.logPath(key)
        let fd = try SystemCall.open(path, O_RDONLY_FLAG)
        defer { SystemCall.close(fd) }
        let file = try SystemCall.readAll(fd, path: path)
        return try contents(of: LogScanner.scan(file, expectedKind: .workflowLog), key: key, path: path)
    }

    func contents(of scan: LogScan, key: LogKey, path: String) throws(StorageError) -> LogContents {
        var records: [LogRecord] = []
        records.reserveCapacity(scan.frames.count)
        for frame in scan.frames {
            records.append(
                LogRecord(
                    seq: frame.seq, type: RecordType(rawValue: frame.type),
                    payload: try codec.decode(frame, path: path),
                    offset: frame.offset, codec: LogFormat.Codec(rawValue: frame.codec) ?? .raw,
                    dictionaryID: frame.dictionaryID, storedSize: frame.stored.count))
        }
        var name: String?
        if let first = records.first, first.type == .indexUpdate {
            name = IndexDelta(decoding: first.payload)?.workflowID
        }
        return LogContents(
            key: key, path: path, name: name, createdAt: scan.header?.createdAt ?? 0, records: records,
            outcome: scan.outcome, validEnd: scan.validEnd, fileSize: scan.fileSize)
    }

    /// The index entry of every log, as the logs alone say (a log deleted meanwhile is skipped).
    func derivedEntries() throws(StorageError) -> [IndexEntry] {
        var entries: [IndexEntry] = []
        for key in try allLogKeys() {
            do throws(StorageError) {
                entries.append(try readLog(key: key).indexEntry)
            } catch  where error.code == .notFound {
                continue  // deleted between listing and reading
            }
        }
        return entries
    }
}
