import DurableStorage

/// One workflow, with its children if asked, as a portable file carries it: every recorded
/// event, the status fields and the inbox, read from any store and brought into any other
/// (`durable archive`, `durable import`).
///
/// An archive is the workflow's content, not its storage: it holds typed events, so a workflow
/// archived from the file backend can be imported into another backend. The file format (a
/// checksummed header and one zstd frame of JSON) is described with the log format in DurableLog's
/// documentation; ``encoded()`` and ``init(decoding:)`` write and read it, and encoding an
/// archive read from a file gives that file's bytes again.
public struct WorkflowArchive: Sendable, Equatable {
    /// The format version this code writes and reads.
    public static let formatVersion: UInt32 = 1

    /// The workflow that was archived.
    public var rootWorkflowID: String
    /// The application version that ran it (nil if it records none).
    public var applicationVersion: String?
    /// The archived workflow first, then its descendants, by ID.
    public var workflows: [ArchivedWorkflow]

    /// An archive of `workflows` (the root first).
    public init(rootWorkflowID: String, applicationVersion: String?, workflows: [ArchivedWorkflow]) {
        self.rootWorkflowID = rootWorkflowID
        self.applicationVersion = applicationVersion
        self.workflows = workflows
    }
}

extension WorkflowArchive {
    /// Throws ``ArchiveError/Code/damaged`` unless the archive is whole: the archived workflow
    /// first, no workflow twice, each starting with its start record and with fields that name
    /// it and mark it neither deleted nor quarantined.
    func validate() throws(ArchiveError) {
        guard workflows.first?.workflowID == rootWorkflowID else {
            throw ArchiveError(.damaged, "the archive's first workflow is not the archived one, \"\(rootWorkflowID)\"")
        }
        var seen: Set<String> = []
        for workflow in workflows {
            let id = workflow.workflowID
            guard seen.insert(id).inserted else {
                throw ArchiveError(.damaged, "the archive holds workflow \"\(id)\" twice", workflowID: id)
            }
            guard case .started = workflow.events.first else {
                throw ArchiveError(
                    .damaged, "workflow \"\(id)\" in the archive has no start record first", workflowID: id)
            }
            if workflow.events.contains(where: \.isStatusChange) {
                throw ArchiveError(.damaged, "workflow \"\(id)\" in the archive holds status changes", workflowID: id)
            }
            let fields = workflow.fields
            guard fields.workflowID == nil || fields.workflowID == id, fields.removed != true, fields.corruption == nil
            else {
                throw ArchiveError(
                    .damaged,
                    "the fields of workflow \"\(id)\" in the archive name another, deleted or damaged workflow",
                    workflowID: id)
            }
        }
    }
}

/// One workflow in a ``WorkflowArchive``.
public struct ArchivedWorkflow: Sendable, Equatable {
    /// The workflow ID.
    public var workflowID: String
    /// Its status fields when it was archived.
    public var fields: WorkflowFields
    /// Its recorded events in order, without the status changes a store records (``fields``
    /// holds their sum).
    public var events: [WorkflowEvent]
    /// Every item of its inbox (messages, control requests), in delivery order.
    public var inbox: [InboxItem]

    /// An archived workflow.
    public init(workflowID: String, fields: WorkflowFields, events: [WorkflowEvent], inbox: [InboxItem]) {
        self.workflowID = workflowID
        self.fields = fields
        self.events = events
        self.inbox = inbox
    }
}

/// Why an archive file was refused, or why importing it would overwrite a workflow.
public struct ArchiveError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of refusal, for callers to switch on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let value: String
        private init(_ value: String) { self.value = value }
        public var description: String { value }

        /// The file is not a workflow archive (its first bytes say so).
        public static let notAnArchive = Code("notAnArchive")
        /// The file is an archive of a format version this code does not read.
        public static let unsupportedVersion = Code("unsupportedVersion")
        /// The file is shorter than its header says: it was cut off.
        public static let truncated = Code("truncated")
        /// The file's content does not match its checksum, or does not decode.
        public static let damaged = Code("damaged")
        /// A workflow in the archive is in the target already (import with replacing to replace it).
        public static let alreadyExists = Code("alreadyExists")
    }

    /// The kind of refusal.
    public var code: Code
    /// What was wrong.
    public var message: String
    /// The workflow concerned, if one is.
    public var workflowID: String?

    /// An archive error.
    public init(_ code: Code, _ message: String, workflowID: String? = nil) {
        self.code = code
        self.message = message
        self.workflowID = workflowID
    }

    public var description: String { message }
}
