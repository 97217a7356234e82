import DurableLog
import DurableStorage

/// The archive file: a 60-byte header, then one zstd frame of the JSON body.
///
/// | Offset | Size | Field |
/// |---|---|---|
/// | 0 | 8 | magic `89 44 55 52 41 52 43 0A` (`\x89DURARC\n`) |
/// | 8 | 4 | format version, little-endian (1) |
/// | 12 | 8 | body length, little-endian |
/// | 20 | 8 | compressed length, little-endian |
/// | 28 | 32 | SHA-256 of the compressed body |
/// | 60 | compressed length | the body, one zstd frame |
extension WorkflowArchive {
    static let magic: [UInt8] = [0x89, 0x44, 0x55, 0x52, 0x41, 0x52, 0x43, 0x0A]
    static let headerLength = 60
    /// Archives decode into memory: a header claiming more is refused before anything is allocated.
    static let maxBodyLength: UInt64 = 4 << 30

    /// The archive as file bytes. The same archive always gives the same bytes. Throws
    /// ``ArchiveError/Code/damaged`` for an archive that is not whole (see `validate()`).
    public func encoded() throws -> [UInt8] {
        try validate()
        let body = try WorkflowJSON.encode(ArchiveBody(self))
        let compressed = try WholeFileCompression.compress(body)
        var bytes = Self.magic
        bytes.reserveCapacity(Self.headerLength + compressed.count)
        Self.append(UInt64(Self.formatVersion), bytes: 4, to: &bytes)
        Self.append(UInt64(body.count), bytes: 8, to: &bytes)
        Self.append(UInt64(compressed.count), bytes: 8, to: &bytes)
        bytes += SHA256.hash(compressed)
        bytes += compressed
        return bytes
    }

    /// Reads archive file bytes; throws an ``ArchiveError`` saying what is wrong with a file that
    /// is not one, is cut off, is damaged or is of a newer format.
    public init(decoding bytes: [UInt8]) throws(ArchiveError) {
        guard bytes.count >= Self.magic.count, Array(bytes.prefix(Self.magic.count)) == Self.magic else {
            throw ArchiveError(.notAnArchive, "not a workflow archive (it does not start with the archive magic)")
        }
        guard bytes.count >= Self.headerLength else {
            throw ArchiveError(.truncated, "the archive is cut off inside its header (\(bytes.count) bytes)")
        }
        let version = Self.integer(bytes, at: 8, bytes: 4)
        guard version == UInt64(Self.formatVersion) else {
            throw ArchiveError(
                .unsupportedVersion,
                "the archive is of format version \(version); this build reads version \(Self.formatVersion)")
        }
        let bodyLength = Self.integer(bytes, at: 12, bytes: 8)
        let compressedLength = Self.integer(bytes, at: 20, bytes: 8)
        guard bodyLength <= Self.maxBodyLength, compressedLength <= Self.maxBodyLength else {
            throw ArchiveError(.damaged, "the archive's header claims a body of \(bodyLength) bytes")
        }
        let present = UInt64(bytes.count - Self.headerLength)
        guard present >= compressedLength else {
            throw ArchiveError(
                .truncated,
                "the archive is cut off: \(bytes.count) of its \(UInt64(Self.headerLength) + compressedLength) bytes are there"
            )
        }
        guard present == compressedLength, let length = Int(exactly: bodyLength) else {
            throw ArchiveError(.damaged, "the archive has \(present - compressedLength) bytes after its end")
        }
        let compressed = bytes[Self.headerLength...]
        guard SHA256.hash(Array(compressed)) == Array(bytes[28..<60]) else {
            throw ArchiveError(.damaged, "the archive's content does not match its checksum")
        }
        let body: [UInt8]
        do {
            body = try WholeFileCompression.decompress(compressed, length: length)
        } catch {
            throw ArchiveError(.damaged, "the archive's content does not decode: \(error)")
        }
        try self.init(body: body)
    }

    /// Reads an archive's JSON body (what the zstd frame holds), checked as a whole archive.
    init(body: [UInt8]) throws(ArchiveError) {
        do {
            self = try WorkflowJSON.decode(ArchiveBody.self, from: body).archive()
        } catch let error as ArchiveError {
            throw error
        } catch {
            throw ArchiveError(.damaged, "the archive's content does not decode: \(error)")
        }
    }

    private static func append(_ value: UInt64, bytes count: Int, to bytes: inout [UInt8]) {
        for k in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(k)))) }
    }

    private static func integer(_ bytes: [UInt8], at offset: Int, bytes count: Int) -> UInt64 {
        (0..<count).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }
}

/// The JSON body of an archive file (keys sorted, so equal archives give equal bytes).
private struct ArchiveBody: Codable {
    var format: UInt32
    var rootWorkflowID: String
    var applicationVersion: String?
    var workflows: [Workflow]

    struct Workflow: Codable {
        var workflowID: String
        var fields: WorkflowFields
        var events: [ArchivedEvent]
        var inbox: [ArchivedInboxItem]
    }

    init(_ archive: WorkflowArchive) {
        format = WorkflowArchive.formatVersion
        rootWorkflowID = archive.rootWorkflowID
        applicationVersion = archive.applicationVersion
        workflows = archive.workflows.map { workflow in
            Workflow(
                workflowID: workflow.workflowID, fields: workflow.fields,
                events: workflow.events.map(ArchivedEvent.init), inbox: workflow.inbox.map(ArchivedInboxItem.init))
        }
    }

    func archive() throws(ArchiveError) -> WorkflowArchive {
        guard format == WorkflowArchive.formatVersion else {
            throw ArchiveError(.damaged, "the archive's body says format \(format), its header another")
        }
        let workflows = workflows.map { w in
            ArchivedWorkflow(
                workflowID: w.workflowID, fields: w.fields, events: w.events.map(\.event), inbox: w.inbox.map(\.item))
        }
        let archive = WorkflowArchive(
            rootWorkflowID: rootWorkflowID, applicationVersion: applicationVersion, workflows: workflows)
        try archive.validate()
        return archive
    }
}

/// A workflow event in an archive: an object with one key, the event's kind, holding its record.
private struct ArchivedEvent: Codable {
    var event: WorkflowEvent

    init(_ event: WorkflowEvent) { self.event = event }

    private enum Kind: String, CodingKey {
        case started, operation, attempt, resumed, inputsReplaced, ended
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Kind.self)
        guard container.allKeys.count == 1, let kind = container.allKeys.first else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "an event has one kind"))
        }
        switch kind {
        case .started: event = .started(try container.decode(StartRecord.self, forKey: kind))
        case .operation: event = .operation(try container.decode(OperationRecord.self, forKey: kind))
        case .attempt: event = .attempt(try container.decode(AttemptRecord.self, forKey: kind))
        case .resumed: event = .resumed(try container.decode(ResumeRecord.self, forKey: kind))
        case .inputsReplaced: event = .inputsReplaced(try container.decode(InputsRecord.self, forKey: kind))
        case .ended: event = .ended(try container.decode(EndRecord.self, forKey: kind))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Kind.self)
        switch event {
        case .started(let record): try container.encode(record, forKey: .started)
        case .operation(let record): try container.encode(record, forKey: .operation)
        case .attempt(let record): try container.encode(record, forKey: .attempt)
        case .resumed(let record): try container.encode(record, forKey: .resumed)
        case .inputsReplaced(let record): try container.encode(record, forKey: .inputsReplaced)
        case .ended(let record): try container.encode(record, forKey: .ended)
        case .statusChanged: break  // never archived: `validate()` refuses an archive holding one
        }
    }
}

/// An inbox item in an archive: `{"message": ...}` or `{"control": ...}`.
private struct ArchivedInboxItem: Codable {
    var item: InboxItem

    init(_ item: InboxItem) { self.item = item }

    private enum Kind: String, CodingKey { case message, control }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Kind.self)
        guard container.allKeys.count == 1, let kind = container.allKeys.first else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "an inbox item has one kind"))
        }
        switch kind {
        case .message: item = .message(try container.decode(InboxMessage.self, forKey: kind))
        case .control: item = .control(try container.decode(ControlRequest.self, forKey: kind))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Kind.self)
        switch item {
        case .message(let message): try container.encode(message, forKey: .message)
        case .control(let control): try container.encode(control, forKey: .control)
        }
    }
}
