/// An error as it is recorded in a log and rethrown on replay: DBOS's portable error shape,
/// `{"name": ..., "message": ..., "code": ..., "data": ...}`.
///
/// Any error a step or workflow throws is recorded in this form: `name` is the error's type name
/// (or the name a `PortableError` carries), `message` its description. Replay throws the same
/// `PortableError`, and so does the first execution, so that a workflow that catches step errors
/// behaves identically whether a step ran or was replayed.
public struct PortableError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    /// The error's kind, for example `PaymentDeclined`.
    public var name: String
    /// What happened.
    public var message: String
    /// An optional machine-readable code (DBOS allows an integer or a string).
    public var code: JSONValue?
    /// Optional structured details.
    public var data: JSONValue?

    /// Creates an error.
    public init(name: String, message: String, code: JSONValue? = nil, data: JSONValue? = nil) {
        self.name = name
        self.message = message
        self.code = code
        self.data = data
    }

    /// The portable form of any error.
    public init(_ error: any Error) {
        if let portable = error as? PortableError {
            self = portable
        } else {
            self.init(name: String(describing: type(of: error)), message: String(describing: error))
        }
    }

    public var description: String { "\(name): \(message)" }
}

/// A JSON value, for the open-ended parts of the portable formats.
public enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
