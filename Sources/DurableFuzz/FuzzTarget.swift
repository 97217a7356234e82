// What each fuzz target feeds its input to. Nothing may trap on any input: decoders return nil
// or throw, and the invariants checked here (with `precondition`) must hold for whatever they accept.
import Foundation

@testable import DurableExport
@testable import DurableLog
@testable import DurableWorkflows

enum FuzzTarget: String, CaseIterable {
    /// A workflow log file: framing, checksums, zstd, then the workflow records' JSON.
    case record
    /// The index's files: CURRENT, snapshot and log framing, entry batches and field deltas.
    case index
    /// An inbox file: framing, then message and control records.
    case inbox
    /// A cron expression, then its next ticks in a few time zones.
    case cron
    /// JSON as `durable enqueue` and `durable send` accept it, then its DBOS export encoding.
    case json
    /// A workflow archive file (header, lengths, checksum, zstd), and the same bytes as the JSON
    /// body a good checksum lets through: an accepted body must encode and decode to itself.
    case archive

    static let codec = PayloadCodec(
        dictionaries: DictionaryStore(directory: "/nonexistent-durable-fuzz", level: 3, fileMode: 0o600), level: 3)

    func run(_ bytes: [UInt8]) {
        switch self {
        case .record:
            let scan = LogScanner.scan(bytes, expectedKind: .workflowLog)
            var records: [LogRecord] = []
            for frame in scan.frames {
                guard let payload = try? Self.codec.decode(frame, path: "fuzz") else { return }
                records.append(
                    LogRecord(
                        seq: frame.seq, type: RecordType(rawValue: frame.type), payload: payload, offset: frame.offset,
                        codec: LogFormat.Codec(rawValue: frame.codec) ?? .raw, dictionaryID: frame.dictionaryID,
                        storedSize: frame.stored.count))
            }
            // A last record may end in padding the file lacks (implicit zeros): at most one alignment.
            precondition(scan.validEnd <= LogFormat.alignedUp(bytes.count))
            if let history = try? WorkflowHistory(workflowID: "fuzz", records: records) {
                _ = history.steps
                _ = history.events
                _ = history.streamItems
                _ = try? DBOSMapping.rows(for: history, messages: [])
            }
        case .index:
            _ = IndexFiles.decodeCurrent(bytes)
            _ = IndexFiles.decodeLogRecord(bytes)
            if let entries = IndexFiles.decodeEntries(bytes) {
                // What decodes must encode back to the same entries.
                precondition(IndexFiles.decodeEntries(IndexFiles.encodeEntries(entries[...])) == entries)
            }
            if let fields = IndexFields(decoding: bytes) {
                precondition(IndexFields(decoding: fields.encoded()) == fields)
            }
            for kind in [LogFormat.FileKind.indexSnapshot, .indexLog] { _ = LogScanner.scan(bytes, expectedKind: kind) }
        case .inbox:
            for frame in LogScanner.scan(bytes, expectedKind: .inbox).frames {
                guard let payload = try? Self.codec.decode(frame, path: "fuzz") else { return }
                _ = try? WorkflowJSON.decode(InboxMessage.self, from: payload)
                _ = try? WorkflowJSON.decode(ControlRequest.self, from: payload)
            }
        case .cron:
            let text = String(decoding: bytes, as: UTF8.self)
            guard
                let schedule = try? CronSchedule(
                    "fuzz", cron: text, timeZone: ["UTC", "America/New_York", "Pacific/Auckland"][bytes.count % 3])
            else { return }
            var after: Int64 = 1_790_000_000_000
            for _ in 0..<3 {
                guard let tick = schedule.nextTick(after: after) else { break }
                precondition(tick.milliseconds > after, "ticks move forward")
                after = tick.milliseconds
            }
        case .json:
            let text = String(decoding: bytes, as: UTF8.self)
            guard (try? WorkflowJSON.checkedValue(text, what: "fuzz")) != nil,
                let value = try? WorkflowJSON.decode(JSONValue.self, fromText: text)
            else { return }
            // Accepted input is wrapped as the one positional argument, and stays exactly that.
            let wrapped = "{\"namedArgs\":{},\"positionalArgs\":[\(text)]}"
            guard case .object(let inputs) = try! WorkflowJSON.decode(JSONValue.self, fromText: wrapped),
                case .array(let arguments) = inputs["positionalArgs"]
            else { preconditionFailure("accepted JSON broke its envelope: \(text)") }
            precondition(arguments == [value], "accepted JSON became other arguments: \(text)")
            _ = try? PortableJSON.encode(value)
        case .archive:
            _ = try? WorkflowArchive(decoding: bytes)
            guard let archive = try? WorkflowArchive(body: bytes) else { return }
            let file: [UInt8]
            do {
                file = try archive.encoded()
            } catch {
                preconditionFailure("an accepted archive does not encode: \(error)")
            }
            precondition(
                (try? WorkflowArchive(decoding: file)) == archive, "an accepted archive changed in a round trip")
        }
    }
}
