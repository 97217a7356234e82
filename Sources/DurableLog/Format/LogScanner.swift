/// The result of verifying a log file from its first byte to its end.
public struct LogScan: Sendable {
    /// How the file ends.
    public enum Outcome: Sendable, Equatable {
        /// Every byte up to `end` is valid records; what follows (if anything) is zeros.
        case clean
        /// The file ends in a partial record starting at `validEnd`: a write cut short by a crash.
        case torn
        /// Damage at `damageOffset` with valid records after it, a bad header, or fewer records
        /// than the index says were acknowledged. Never truncated.
        case corrupted(reason: String)
    }

    /// The file header.
    let header: FileHeader?
    /// The verified records, in order.
    let frames: [RecordFrame]
    /// How the file ends.
    public let outcome: Outcome
    /// The offset just after the last valid record, padding included: past the file's size when
    /// a crash cut the last record's trailing zero padding (the next append goes there anyway).
    public let validEnd: Int
    /// The size of the file that was scanned.
    public let fileSize: Int

    /// The sequence number of the last valid record (0 if none).
    public var lastSeq: UInt64 { frames.last?.seq ?? 0 }
    /// Whether the log can be used as is.
    public var isClean: Bool { outcome == .clean }
}

/// Verifies a log file's bytes and tells a torn tail from corruption.
///
/// Every record must carry the file's salt in its CRC and the next sequence number, so a stale
/// or misplaced record never passes. At the first invalid spot the scanner looks past it for
/// any valid record at an aligned offset: if one exists, the damage sits in front of data that
/// was written later, so it is corruption; if none exists, the tail was torn by a crash.
enum LogScanner {
    /// Scans `file`. `expectedKind` guards against reading the wrong kind of file;
    /// `acknowledgedSeq` (from the index, when known) turns a tail that lost acknowledged
    /// records into corruption.
    static func scan(
        _ file: [UInt8], expectedKind: LogFormat.FileKind?, acknowledgedSeq: UInt64 = 0
    ) -> LogScan {
        let header: FileHeader
        switch FileHeader.decode(file[...]) {
        case .success(let h):
            header = h
        case .failure(.short) where file.allSatisfy({ $0 == 0 }):
            // A file created but never written (crash before the header reached disk).
            return LogScan(header: nil, frames: [], outcome: .torn, validEnd: 0, fileSize: file.count)
        case .failure(let problem):
            let reason: String
            switch problem {
            case .short: reason = "the file header is incomplete (\(file.count) of \(LogFormat.fileHeaderSize) bytes)"
            case .badMagic: reason = "the file does not start with the swift-durable log magic"
            case .badChecksum: reason = "the file header's checksum does not match"
            case .unsupportedVersion(let v):
                reason = "format version \(v) is newer than this build understands (\(LogFormat.version))"
            }
            return LogScan(
                header: nil, frames: [], outcome: .corrupted(reason: reason), validEnd: 0, fileSize: file.count)
        }
        if let expectedKind, header.kind != expectedKind {
            return LogScan(
                header: header, frames: [],
                outcome: .corrupted(reason: "expected a \(expectedKind) file, found \(header.kind)"),
                validEnd: LogFormat.fileHeaderSize, fileSize: file.count)
        }

        var frames: [RecordFrame] = []
        var position = LogFormat.fileHeaderSize
        var nextSeq: UInt64 = 1
        while position < file.count {
            if let frame = RecordFrame.parse(file, at: position, salt: header.salt, minimumSeq: nextSeq),
                frame.seq == nextSeq
            {
                frames.append(frame)
                position += frame.footprint
                nextSeq += 1
                continue
            }
            break
        }
        let validEnd = position
        if validEnd >= file.count || file[validEnd...].allSatisfy({ $0 == 0 }) {
            if acknowledgedSeq > nextSeq - 1 {
                return LogScan(
                    header: header, frames: frames,
                    outcome: .corrupted(
                        reason: "the log ends at record \(nextSeq - 1) but record \(acknowledgedSeq) was acknowledged"),
                    validEnd: validEnd, fileSize: file.count)
            }
            return LogScan(header: header, frames: frames, outcome: .clean, validEnd: validEnd, fileSize: file.count)
        }
        // Look past the damage for any later valid record.
        var probe = validEnd + LogFormat.alignment
        while probe + LogFormat.recordHeaderSize <= file.count {
            if RecordFrame.parse(file, at: probe, salt: header.salt, minimumSeq: nextSeq) != nil {
                return LogScan(
                    header: header, frames: frames,
                    outcome: .corrupted(
                        reason: "damaged bytes at offset \(validEnd) are followed by a valid record at offset \(probe)"),
                    validEnd: validEnd, fileSize: file.count)
            }
            probe += LogFormat.alignment
        }
        if acknowledgedSeq > nextSeq - 1 {
            return LogScan(
                header: header, frames: frames,
                outcome: .corrupted(
                    reason:
                        "the log is damaged at offset \(validEnd) and record \(acknowledgedSeq) had been acknowledged"),
                validEnd: validEnd, fileSize: file.count)
        }
        return LogScan(header: header, frames: frames, outcome: .torn, validEnd: validEnd, fileSize: file.count)
    }
}
