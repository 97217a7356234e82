import DurableStorage
import FoundationEssentials

/// Where a PostgreSQL-backed store keeps its workflows: a server, a database and the DBOS system
/// schema in it, read from a `postgresql://` URL (the form DBOS's `system_database_url` takes and
/// `DURABLE_DATABASE_URL` holds).
///
/// `postgresql://user:password@host:port/database?schema=dbos&sslmode=disable`: the user
/// defaults to `postgres`, the port to 5432, the database to the user's name and the schema to
/// `dbos`. User and password may be percent-encoded. `postgres://` is accepted too.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    /// The server's host name or address.
    public var host: String
    /// The server's TCP port.
    public var port: Int
    /// The role to connect as.
    public var username: String
    /// Its password, if the server asks for one.
    public var password: String?
    /// The database that holds the DBOS system schema.
    public var database: String
    /// The DBOS system schema (DBOS's default is `dbos`).
    public var schema: String

    /// A location given part by part.
    public init(
        host: String = "127.0.0.1", port: Int = 5432, username: String = "postgres", password: String? = nil,
        database: String? = nil, schema: String = "dbos"
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database ?? username
        self.schema = schema
    }

    /// Reads a `postgresql://` URL; throws ``WorkflowStoreError/Code/invalidArgument`` saying
    /// what is wrong with one that is not (the password is never repeated in the message).
    public init(url: String) throws {
        func refuse(_ why: String) -> WorkflowStoreError {
            WorkflowStoreError(.invalidArgument, "the database URL \(Self.redacted(url)) \(why)")
        }
        guard let schemeEnd = url.firstRange(of: "://") else {
            throw refuse("is not a postgresql:// URL")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "postgresql" || scheme == "postgres" else {
            throw refuse("has the scheme \(scheme); it must be postgresql://")
        }
        var rest = url[schemeEnd.upperBound...]
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var username = "postgres"
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let parts = credentials.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let user = Self.percentDecoded(parts[0]), !user.isEmpty else {
                throw refuse("has a user name that is empty or badly percent-encoded")
            }
            username = user
            if parts.count == 2 {
                guard let secret = Self.percentDecoded(parts[1]) else {
                    throw refuse("has a badly percent-encoded password")
                }
                password = secret
            }
        }
        var host = String(rest)
        var port = 5432
        if host.hasPrefix("[") {  // [::1]:5432
            guard let close = host.firstIndex(of: "]") else { throw refuse("has an unclosed [ in its host") }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let number = Int(after.dropFirst()), (1...65535).contains(number) else {
                    throw refuse("has a port that is not a number from 1 to 65535")
                }
                port = number
            } else if !after.isEmpty {
                throw refuse("has text after its host")
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            guard let number = Int(host[host.index(after: colon)...]), (1...65535).contains(number) else {
                throw refuse("has a port that is not a number from 1 to 65535")
            }
            port = number
            host = String(host[..<colon])
        }
        guard !host.isEmpty else { throw refuse("names no host") }
        guard let database = Self.percentDecoded(path) else { throw refuse("has a badly percent-encoded database") }
        var schema = "dbos"
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(kv[0])
            let value = kv.count == 2 ? Self.percentDecoded(kv[1]) : ""
            guard let value else { throw refuse("has a badly percent-encoded \(key)") }
            switch key {
            case "schema":
                guard !value.isEmpty, value.utf8.count <= 63, !value.utf8.contains(0) else {
                    throw refuse("names a schema that is not 1 to 63 bytes without NUL")
                }
                schema = value
            case "sslmode":
                // TLS is not offered yet: say so instead of connecting in the clear when TLS was asked for.
                guard value == "disable" || value == "allow" || value == "prefer" else {
                    throw refuse("asks for sslmode=\(value); this build connects without TLS (use sslmode=disable)")
                }
            case "application_name", "connect_timeout":
                break
            default:
                throw refuse("has the parameter \(key), which is not one of schema, sslmode, application_name")
            }
        }
        self.init(
            host: host, port: port, username: username, password: password,
            database: database.isEmpty ? nil : database, schema: schema)
    }

    /// The URL without its password.
    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "postgresql://\(username)@\(hostPart):\(port)/\(database)?schema=\(schema)"
    }

    /// `url` with any password replaced by `***`, for messages.
    static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://") else { return "(not a URL)" }
        let afterScheme = url[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" } ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else {
            return url
        }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }

    /// `text` with `%XX` escapes decoded, or nil if one is malformed or the bytes are not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue)
            else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
