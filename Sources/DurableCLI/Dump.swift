import ArgumentParser
import DurableLog

extension DurableCommand {
    /// `durable dump <workflow-id>`: every record of one log, decoded.
    struct Dump: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every record of a workflow's log, decoded.",
            discussion: "Reads without a lock: beside a live writer it shows a consistent prefix.")

        @OptionGroup var directory: DirectoryOptions
        @Argument(help: "The workflow ID.") var workflowID: String
        @Flag(help: "Print JSON lines, one record per line.") var json = false

        func run() throws {
            let store = try directory.openStore()
            let contents = try store.readLog(name: workflowID)
            if !json {
                print("log \(contents.path)")
                print(
                    "workflow \(contents.name ?? "?")  created \(contents.createdAt) ms  \(contents.records.count) records  \(contents.fileSize) bytes"
                )
            }
            for record in contents.records {
                let body = Self.describe(record)
                if json {
                    print(
                        JSONText.object([
                            ("seq", .number(Int(record.seq))), ("offset", .number(record.offset)),
                            ("type", .string(record.type.description)), ("codec", .string("\(record.codec)")),
                            ("dictionary", .number(Int(record.dictionaryID))),
                            ("storedSize", .number(record.storedSize)),
                            ("size", .number(record.payload.count)), ("payload", body),
                        ]).rendered)
                } else {
                    let codec =
                        record.codec == .raw ? "raw" : "\(record.codec) \(record.storedSize)/\(record.payload.count) B"
                    print("#\(record.seq) @\(record.offset) \(record.type) [\(codec)] \(body.rendered)")
                }
            }
            switch contents.outcome {
            case .clean: break
            case .torn:
                if !json {
                    print(
                        "-- ends in a torn record at offset \(contents.validEnd) (repaired when next opened for writing)"
                    )
                }
            case .corrupted(let reason):
                if !json { print("-- CORRUPTED: \(reason)") }
                throw ExitCode(1)
            }
        }

        /// Index updates as their fields; UTF-8 text as a string; anything else as hex.
        static func describe(_ record: LogRecord) -> JSONText {
            if record.type == .indexUpdate, let fields = IndexFields(decoding: record.payload) {
                return JSONText.fields(fields)
            }
            if let text = String(validating: record.payload, as: UTF8.self) { return .string(text) }
            let hex = record.payload.prefix(64).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
            return .string("0x" + hex + (record.payload.count > 64 ? "..." : ""))
        }
    }
}
