#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A schedule's small state record (what the schedule is, when it last fired, whether it is
/// paused), kept in `schedules/<key>.state` and replaced atomically under `schedules/<key>.lock`.
///
/// ```
/// magic "DSCHED\0\1" | length u32 | crc32c u32 | payload
/// ```
/// The payload is opaque here. A record whose checksum fails is reported as damaged, not trusted.
public enum ScheduleRecord: Sendable, Equatable {
    /// No record yet.
    case missing
    /// The file exists but is truncated or fails its checksum.
    case damaged
    /// The stored payload.
    case present([UInt8])

    static let magic: [UInt8] = Array("DSCHED".utf8) + [0, 1]

    static func encode(_ payload: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: 16 + payload.count)
        w.raw(magic)
        w.u32(UInt32(payload.count))
        w.u32(CRC32C.checksum(payload))
        w.raw(payload)
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) -> ScheduleRecord {
        guard bytes.count >= 16, Array(bytes[0..<8]) == magic else { return .damaged }
        var r = ByteReader(bytes[8..<16])
        guard let length = r.u32(), let crc = r.u32(), bytes.count == 16 + Int(length) else { return .damaged }
        let payload = Array(bytes[16...])
        return CRC32C.checksum(payload) == crc ? .present(payload) : .damaged
    }
}

extension LogStore {
    private func schedulePaths(_ name: String) throws(StorageError) -> (state: String, lock: String) {
        let base = "\(layout.schedulesDirectory)/\(try LogKey(name: name, what: "a schedule name").hex)"
        return ("\(base).state", "\(base).lock")
    }

    /// The state record of schedule `name`.
    public func readScheduleRecord(name: String) throws(StorageError) -> ScheduleRecord {
        let path = try schedulePaths(name).state
        guard SystemCall.exists(path) else { return .missing }
        let fd = try SystemCall.open(path, O_RDONLY_FLAG)
        defer { SystemCall.close(fd) }
        return ScheduleRecord.decode(try SystemCall.readAll(fd, path: path))
    }

    /// Replaces schedule `name`'s record with what `update` makes of the current one (`nil`:
    /// leave it), under the schedule's lock, so concurrent updates from processes never interleave.
    public func updateScheduleRecord(
        name: String, _ update: @escaping @Sendable (ScheduleRecord) -> [UInt8]?
    ) async throws(StorageError) {
        try checkWritable()
        let (path, lockPath) = try schedulePaths(name)
        let directory = layout.schedulesDirectory
        try await io.run { [self] () throws(StorageError) in
            try SystemCall.makeDirectory(directory, mode: layout.directoryMode)
            let lock = try SystemCall.open(lockPath, O_RDWR | O_CREAT, mode: layout.fileMode)
            defer { SystemCall.close(lock) }
            try FileLock.exclusive(lock, path: lockPath)
            defer { FileLock.unlock(lock) }
            guard let payload = update(try readScheduleRecord(name: name)) else { return }
            let temporary = "\(path).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
            let fd = try SystemCall.open(temporary, O_RDWR | O_CREAT | O_TRUNC, mode: layout.fileMode)
            defer { SystemCall.close(fd) }
            try SystemCall.write(fd, ScheduleRecord.encode(payload), at: 0, path: temporary)
            // Not fsynced: the state is a hint (last fire time, pause flag); ticks are
            // deduplicated by their workflow IDs, and a lost update is re-derived from the logs.
            try SystemCall.rename(temporary, path)
        }
    }

    /// The names (as stored in each record's payload, opaque here) of every schedule record.
    public func allScheduleRecords() throws(StorageError) -> [ScheduleRecord] {
        guard SystemCall.exists(layout.schedulesDirectory) else { return [] }
        var records: [ScheduleRecord] = []
        for file in try SystemCall.listDirectory(layout.schedulesDirectory) where file.hasSuffix(".state") {
            let path = "\(layout.schedulesDirectory)/\(file)"
            guard let fd = try? SystemCall.open(path, O_RDONLY_FLAG) else { continue }
            defer { SystemCall.close(fd) }
            records.append((try? SystemCall.readAll(fd, path: path)).map(ScheduleRecord.decode) ?? .damaged)
        }
        return records
    }
}
