/// A record as framed on disk: verified header fields plus the stored (possibly compressed) payload.
struct RecordFrame: Sendable {
    var offset: Int
    var seq: UInt64
    var type: UInt8
    var codec: UInt8
    var dictionaryID: UInt16
    var rawLength: Int
    var stored: ArraySlice<UInt8>

    /// Bytes the record occupies on disk, padding included.
    var footprint: Int { LogFormat.alignedUp(LogFormat.recordHeaderSize + stored.count) }

    /// Appends the framed record (header, payload, zero padding) to `out`.
    static func encode(
        into out: inout [UInt8], salt: UInt64, seq: UInt64, type: UInt8,
        codec: LogFormat.Codec, dictionaryID: UInt16, rawLength: Int, stored: [UInt8]
    ) {
        var header = ByteWriter(capacity: LogFormat.recordHeaderSize)
        header.u32(0)
        header.u32(UInt32(stored.count))
        header.u64(seq)
        header.u8(type)
        header.u8(codec.rawValue)
        header.u16(dictionaryID)
        header.u32(UInt32(rawLength))
        let crc = checksum(salt: salt, headerTail: header.bytes[4...], payload: stored[...])
        withUnsafeBytes(of: crc.littleEndian) { header.bytes.replaceSubrange(0..<4, with: $0) }
        out.append(contentsOf: header.bytes)
        out.append(contentsOf: stored)
        let pad =
            LogFormat.alignedUp(stored.count + LogFormat.recordHeaderSize) - stored.count - LogFormat.recordHeaderSize
        out.append(contentsOf: repeatElement(0, count: pad))
    }

    /// The masked CRC32C over `salt ‖ header[4..<24] ‖ payload`.
    static func checksum(salt: UInt64, headerTail: ArraySlice<UInt8>, payload: ArraySlice<UInt8>) -> UInt32 {
        var crc = withUnsafeBytes(of: salt.littleEndian) { CRC32C.checksum($0) }
        crc = CRC32C.checksum(headerTail, continuing: crc)
        crc = CRC32C.checksum(payload, continuing: crc)
        return CRC32C.mask(crc)
    }

    /// Parses and verifies the record at `offset`, or returns `nil` if no valid record starts there.
    static func parse(_ file: [UInt8], at offset: Int, salt: UInt64, minimumSeq: UInt64) -> RecordFrame? {
        guard offset + LogFormat.recordHeaderSize <= file.count else { return nil }
        var r = ByteReader(file[offset..<offset + LogFormat.recordHeaderSize])
        let crc = r.u32()!
        let storedLength = Int(r.u32()!)
        let seq = r.u64()!
        let type = r.u8()!
        let codec = r.u8()!
        let dictionaryID = r.u16()!
        let rawLength = Int(r.u32()!)
        guard storedLength <= LogFormat.maxPayloadSize, rawLength <= LogFormat.maxPayloadSize,
            seq >= minimumSeq, seq > 0, LogFormat.Codec(rawValue: codec) != nil
        else { return nil }
        let payloadStart = offset + LogFormat.recordHeaderSize
        guard payloadStart + storedLength <= file.count else { return nil }
        let payload = file[payloadStart..<payloadStart + storedLength]
        let headerTail = file[offset + 4..<payloadStart]
        guard checksum(salt: salt, headerTail: headerTail, payload: payload) == crc else { return nil }
        // Padding is outside the CRC, so it must be zero to count as part of a valid record.
        let padEnd = min(file.count, offset + LogFormat.alignedUp(LogFormat.recordHeaderSize + storedLength))
        guard file[(payloadStart + storedLength)..<padEnd].allSatisfy({ $0 == 0 }) else { return nil }
        return RecordFrame(
            offset: offset, seq: seq, type: type, codec: codec, dictionaryID: dictionaryID,
            rawLength: rawLength, stored: payload)
    }
}
