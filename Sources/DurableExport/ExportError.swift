/// Why a workflow, or the whole export, could not be exported.
public struct ExportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, for callers to switch on.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The workflow's log or inbox is damaged (quarantined); nothing of it was exported.
        public static let quarantined = Code(rawValue: "quarantined")
        /// No workflow has the requested ID.
        public static let notFound = Code(rawValue: "notFound")
        /// The log lacks what every workflow has (its START record).
        public static let incompleteHistory = Code(rawValue: "incompleteHistory")
        /// A value PostgreSQL cannot store (text containing NUL).
        public static let unrepresentable = Code(rawValue: "unrepresentable")
        /// An option is invalid (for example an empty schema name).
        public static let invalidOption = Code(rawValue: "invalidOption")
        /// Writing the script failed.
        public static let writeFailed = Code(rawValue: "writeFailed")
    }

    /// What went wrong.
    public var code: Code
    /// Details, in words.
    public var message: String
    /// The workflow concerned, if one is.
    public var workflowID: String?

    /// An error with a code, details and optionally the workflow concerned.
    public init(_ code: Code, _ message: String, workflowID: String? = nil) {
        self.code = code
        self.message = message
        self.workflowID = workflowID
    }

    public var description: String {
        workflowID.map { "workflow \"\($0)\": \(message)" } ?? message
    }
}
