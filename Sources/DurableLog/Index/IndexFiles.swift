import DurableStorage

/// The files of the index and their encodings.
///
/// ```
/// index/CURRENT          32 bytes: magic, generation, created ms, masked CRC32C; replaced atomically
/// index/snap-<gen>.idx   immutable snapshot (log framing, kind 3): entry batches, then a footer
/// index/log-<gen>.wal    append-only deltas since the snapshot (log framing, kind 2)
/// index/append.lock      OFD-locked around every append and every compaction
/// ```
enum IndexFiles {
    static let currentMagic: [UInt8] = Array("DURIDX01".utf8)
    /// Snapshot record holding a batch of entries.
    static let snapshotBatch: UInt8 = 2
    /// Snapshot record closing the snapshot with its entry count.
    static let snapshotFooter: UInt8 = 3
    /// Entries per snapshot record.
    static let batchSize = 512

    static func current(_ directory: String) -> String { "\(directory)/CURRENT" }
    static func snapshot(_ directory: String, _ generation: UInt64) -> String { "\(directory)/snap-\(generation).idx" }
    static func log(_ directory: String, _ generation: UInt64) -> String { "\(directory)/log-\(generation).wal" }
    static func appendLock(_ directory: String) -> String { "\(directory)/append.lock" }

    static func encodeCurrent(generation: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: 32)
        w.raw(currentMagic)
        w.u64(generation)
        w.i64(SystemCall.nowMilliseconds())
        w.u32(CRC32C.mask(CRC32C.checksum(w.bytes)))
        w.u32(0)
        return w.bytes
    }

    static func decodeCurrent(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count == 32, bytes.prefix(8).elementsEqual(currentMagic) else { return nil }
        var r = ByteReader(bytes)
        _ = r.take(8)
        let generation = r.u64()!
        _ = r.i64()
        guard r.u32() == CRC32C.mask(CRC32C.checksum(bytes.prefix(24))) else { return nil }
        return generation
    }

    /// Payload of an index-log record: which log, the delta's sequence number there, the delta.
    static func encodeLogRecord(key: LogKey, seq: UInt64, delta: IndexDelta) -> [UInt8] {
        var w = ByteWriter(capacity: 48)
        w.raw(key.bytes)
        w.varint(seq)
        w.raw(delta.encoded())
        return w.bytes
    }

    static func decodeLogRecord(_ payload: [UInt8]) -> (LogKey, UInt64, IndexDelta)? {
        var r = ByteReader(payload)
        guard let keyBytes = r.take(16), let key = LogKey(bytes: Array(keyBytes)), let seq = r.varint(),
            let delta = IndexDelta(decoding: payload[r.position...])
        else { return nil }
        return (key, seq, delta)
    }

    static func encodeEntries(_ entries: ArraySlice<IndexEntry>) -> [UInt8] {
        var w = ByteWriter(capacity: entries.count * 96)
        w.varint(UInt64(entries.count))
        for entry in entries {
            w.raw(entry.key.bytes)
            w.varint(entry.logSeq)
            w.lengthPrefixed(entry.fields.encoded())
        }
        return w.bytes
    }

    static func decodeEntries(_ payload: [UInt8]) -> [IndexEntry]? {
        var r = ByteReader(payload)
        guard let count = r.varint(), count <= UInt64(payload.count) else { return nil }
        var entries: [IndexEntry] = []
        entries.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let keyBytes = r.take(16), let key = LogKey(bytes: Array(keyBytes)), let seq = r.varint(),
                let raw = r.lengthPrefixed(), let fields = IndexFields(decoding: raw)
            else { return nil }
            entries.append(IndexEntry(key: key, fields: fields, logSeq: seq))
        }
        return entries
    }
}

extension IndexEntry {
    /// Applies a delta found at `seq` in the workflow's log. Deltas set absolute values, so an
    /// older delta must never be applied over a newer one; sequence 0 marks an out-of-band
    /// delta (a quarantine) that always applies.
    mutating func apply(_ delta: IndexDelta, seq: UInt64) {
        if seq == 0 {
            fields.apply(delta)
        } else if seq > logSeq {
            fields.apply(delta)
            logSeq = seq
        }
    }
}
