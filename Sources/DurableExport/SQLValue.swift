/// One column value of a DBOS system-table row.
public enum SQLValue: Sendable, Equatable {
    /// SQL `NULL`.
    case null
    /// Text (UTF-8; never contains NUL).
    case text(String)
    /// A `bigint` or `integer`.
    case integer(Int64)
    /// A `double precision`.
    case real(Double)
    /// A `boolean`.
    case boolean(Bool)

    /// Text, or `NULL` when `value` is nil.
    static func string(_ value: String?) -> SQLValue {
        guard let value else { return .null }
        return .text(value)
    }

    /// A `bigint`, or `NULL` when `value` is nil.
    static func bigint(_ value: Int64?) -> SQLValue {
        guard let value else { return .null }
        return .integer(value)
    }

    /// An `integer`, or `NULL` when `value` is nil.
    static func int(_ value: Int?) -> SQLValue {
        guard let value else { return .null }
        return .integer(Int64(value))
    }
}
