/// Quoting and escaping for the SQL the export writes.
enum SQLText {
    /// A quoted identifier: `"` doubled inside double quotes.
    static func identifier(_ name: String) -> String { "\"" + name.replacingAll("\"", with: "\"\"") + "\"" }

    /// A standard string literal: `'` doubled inside single quotes (backslashes are literal with
    /// `standard_conforming_strings`, which the script sets).
    static func literal(_ text: String) -> String { "'" + text.replacingAll("'", with: "''") + "'" }

    /// Appends `value` as one field of a `COPY ... FROM STDIN` text-format row.
    ///
    /// Only backslash, newline, carriage return and tab are special in that format; each is
    /// written as a backslash escape, so a value can never end the data early (a line `\.`)
    /// or split a row.
    ///
    /// - Returns: false if the text holds a NUL, which PostgreSQL text cannot store.
    @discardableResult
    static func appendCopyField(_ value: SQLValue, to out: inout [UInt8]) -> Bool {
        switch value {
        case .null: out += [0x5c, 0x4e]  // \N
        case .integer(let v): out += Array(String(v).utf8)
        case .real(let v): out += Array(String(v).utf8)
        case .boolean(let v): out.append(v ? 0x74 : 0x66)  // t / f
        case .text(let text):
            for byte in text.utf8 {
                switch byte {
                case 0x5c: out += [0x5c, 0x5c]
                case 0x0a: out += [0x5c, 0x6e]
                case 0x0d: out += [0x5c, 0x72]
                case 0x09: out += [0x5c, 0x74]
                case 0x00: return false
                default: out.append(byte)
                }
            }
        }
        return true
    }
}
