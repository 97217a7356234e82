import FoundationEssentials

/// Plain-text tables and time formatting for human-readable output.
enum TextTable {
    /// Left-aligned columns separated by two spaces.
    static func render(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }
            .joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }

    /// Unix ms as ISO 8601 UTC with milliseconds.
    static func time(_ ms: Int64) -> String {
        guard ms > 0 else { return "-" }
        return Date(timeIntervalSince1970: Double(ms) / 1000).formatted(
            .iso8601.year().month().day().time(includingFractionalSeconds: true))
    }

    /// Parses Unix ms or an ISO 8601 date/time.
    static func parseTime(_ text: String) -> Int64? {
        if let ms = Int64(text) { return ms }
        let formats: [Date.ISO8601FormatStyle] = [.iso8601, .iso8601.year().month().day()]
        for format in formats {
            if let date = try? format.parse(text) { return Int64(date.timeIntervalSince1970 * 1000) }
        }
        return nil
    }

    /// Shortens long cell text.
    static func clip(_ text: String, _ width: Int = 60) -> String {
        let flat = String(text.map { $0 == "\n" ? " " : $0 })
        return flat.count > width ? String(flat.prefix(width - 3)) + "..." : flat
    }
}
