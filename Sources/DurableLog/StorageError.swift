#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An error from the storage engine: what failed, where, and why.
///
/// Every error carries a ``Code`` that scripts and callers can match on, a human-readable
/// message that says what is wrong and what to do, and the path or workflow it concerns.
public struct StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Value: String, Sendable {
            case io, invalidName, payloadTooLarge, notFound, alreadyExists, leaseHeld
            case torn, corrupted, unsupportedVersion, notADataDirectory, networkFilesystem
            case durabilityLost, dictionaryMissing, compression, closed, readOnly
        }
        fileprivate let value: Value
        /// A system call failed with an `errno` (see ``StorageError/errno``).
        public static let io = Code(value: .io)
        /// A workflow ID or other user-supplied name is not acceptable (empty, contains NUL, too long).
        public static let invalidName = Code(value: .invalidName)
        /// A record payload is larger than ``LogFormat/maxPayloadSize``.
        public static let payloadTooLarge = Code(value: .payloadTooLarge)
        /// The requested log, dictionary or file does not exist.
        public static let notFound = Code(value: .notFound)
        /// A log for this workflow ID already exists.
        public static let alreadyExists = Code(value: .alreadyExists)
        /// Another open file description (this process or another) holds the log's lease.
        public static let leaseHeld = Code(value: .leaseHeld)
        /// A log ends in a partially written record (expected after a crash; repaired by the lease holder).
        public static let torn = Code(value: .torn)
        /// A log has damage followed by valid records, or a bad header: it is quarantined, never truncated.
        public static let corrupted = Code(value: .corrupted)
        /// A file was written by a newer, unknown format version.
        public static let unsupportedVersion = Code(value: .unsupportedVersion)
        /// The directory exists but is not a swift-durable data directory.
        public static let notADataDirectory = Code(value: .notADataDirectory)
        /// The data directory is on a network filesystem, where OFD locks do not detect dead owners.
        public static let networkFilesystem = Code(value: .networkFilesystem)
        /// An `fsync`/`fdatasync` failed earlier: nothing is acknowledged any more (fail-stop).
        public static let durabilityLost = Code(value: .durabilityLost)
        /// A record names a compression dictionary that is not in `dicts/`.
        public static let dictionaryMissing = Code(value: .dictionaryMissing)
        /// zstd failed to compress or decompress.
        public static let compression = Code(value: .compression)
        /// The log or store was closed.
        public static let closed = Code(value: .closed)
        /// The store was opened read-only (``LogStore/Options/readOnly``) and was asked to write.
        public static let readOnly = Code(value: .readOnly)

        public var description: String { value.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong and, where useful, what to do about it.
    public var message: String
    /// The file or directory concerned, if any.
    public var path: String?
    /// The `errno` of the failed system call, if any.
    public var errno: Int32?

    /// Creates an error.
    public init(_ code: Code, _ message: String, path: String? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.errno = errno
    }

    public var description: String {
        var text = message
        if let path { text += " (\(path))" }
        if let errno { text += ": \(String(cString: strerror(errno))) [errno \(errno)]" }
        return text
    }
}
