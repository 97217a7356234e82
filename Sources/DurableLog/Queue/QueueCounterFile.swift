/// Encodings of a queue's small counter files. Each carries a magic number and a CRC32C, so a
/// damaged or truncated file is detected (and then rebuilt from the index) rather than trusted.
///
/// ```
/// seq:   magic "DQSEQ\0\0\1" | next u64 | crc32c u32 | zero u32                      (24 bytes)
/// rate:  magic "DQRATE\0\1" | limit u32 | count u32 | period ms u64 | crc32c u32 | zero u32
///        | count × start time i64 (Unix ms, ascending)
/// ```
/// Neither is fsynced: a sequence number lost to a power failure is re-derived from the index,
/// and a rate window can at worst forget starts that were lost along with their workflows' claims.
enum QueueCounterFile {
    static let sequenceMagic: [UInt8] = Array("DQSEQ".utf8) + [0, 0, 1]
    static let rateMagic: [UInt8] = Array("DQRATE".utf8) + [0, 1]

    struct RateWindow: Equatable {
        var limit: Int
        var period: Int64
        var starts: [Int64]
    }

    static func encodeSequence(_ next: Int64) -> [UInt8] {
        var w = ByteWriter(capacity: 24)
        w.raw(sequenceMagic)
        w.i64(next)
        w.u32(CRC32C.checksum(w.bytes))
        w.u32(0)
        return w.bytes
    }

    static func decodeSequence(_ bytes: [UInt8]) -> Int64? {
        guard bytes.count == 24, Array(bytes[0..<8]) == sequenceMagic else { return nil }
        var r = ByteReader(bytes[16...])
        guard r.u32() == CRC32C.checksum(bytes[0..<16]) else { return nil }
        var value = ByteReader(bytes[8..<16])
        return value.i64()
    }

    static func encodeRate(_ window: RateWindow) -> [UInt8] {
        var body = ByteWriter(capacity: window.starts.count * 8)
        for start in window.starts { body.i64(start) }
        var w = ByteWriter(capacity: 32 + body.bytes.count)
        w.raw(rateMagic)
        w.u32(UInt32(window.limit))
        w.u32(UInt32(window.starts.count))
        w.i64(window.period)
        w.u32(CRC32C.checksum(body.bytes, continuing: CRC32C.checksum(w.bytes)))
        w.u32(0)
        w.raw(body.bytes)
        return w.bytes
    }

    /// The window stored in `bytes`, or `nil` if it is damaged or was kept for other limits.
    static func decodeRate(_ bytes: [UInt8], limit: Int, period: Int64) -> RateWindow? {
        guard bytes.count >= 32, Array(bytes[0..<8]) == rateMagic else { return nil }
        var r = ByteReader(bytes[8..<32])
        guard let storedLimit = r.u32(), let count = r.u32(), let storedPeriod = r.i64(), let crc = r.u32(),
            bytes.count == 32 + Int(count) * 8,
            crc == CRC32C.checksum(bytes[32...], continuing: CRC32C.checksum(bytes[0..<24]))
        else { return nil }
        guard Int(storedLimit) == limit, storedPeriod == period else { return nil }
        var starts: [Int64] = []
        var body = ByteReader(bytes[32...])
        for _ in 0..<count { starts.append(body.i64()!) }
        return RateWindow(limit: limit, period: period, starts: starts)
    }
}
