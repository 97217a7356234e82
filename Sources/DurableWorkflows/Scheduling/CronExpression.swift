/// A cron expression: 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds
/// first, as DBOS accepts them.
///
/// Each field takes `*`, values, ranges `a-b`, steps `*/n`, `a-b/n` and `a/n`, and lists of these;
/// months and weekdays also take names (`JAN`–`DEC`, `SUN`–`SAT`, any case; weekday 7 is Sunday).
/// Day-of-month and day-of-week take `?` (any), day-of-month `L` (the last day), and
/// day-of-week `fri#3` (the third Friday) and `L5` or `5L` (the last Friday). When both day
/// fields are restricted a day matches either (classic cron). The macros `@yearly`,
/// `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight` and `@hourly` are accepted.
/// `@every`, `W`, `H`, `R` and 7-field expressions are refused with an error saying why.
public struct CronExpression: Sendable, Equatable, CustomStringConvertible {
    /// The text it was parsed from.
    public let description: String
    var seconds: UInt64 = 0
    var minutes: UInt64 = 0
    var hours: UInt64 = 0
    var daysOfMonth: UInt64 = 0
    var months: UInt64 = 0
    var daysOfWeek: UInt64 = 0
    var lastDayOfMonth = false
    /// (weekday, n): the n-th such weekday of the month.
    var nthWeekdays: [Int] = []  // weekday * 10 + n
    /// Weekdays whose last occurrence in the month matches.
    var lastWeekdays: UInt64 = 0
    var dayOfMonthRestricted = false
    var dayOfWeekRestricted = false
    /// Whether it fires at an interval within the day (`*` or a step in the second, minute or
    /// hour field, as `@hourly`) rather than at fixed times: through a fall-back change it then
    /// keeps firing by real time, in the repeated hour too.
    var isInterval = false

    /// A refused expression.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        /// Why.
        public var description: String
    }

    private static let macros = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]
    private static let monthNames = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ]
    private static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    /// Parses `text`.
    public init(_ text: String) throws(ParseError) {
        description = text
        let trimmed = text.trimmingWhitespace
        var expanded = trimmed
        if trimmed.hasPrefix("@") {
            guard let macro = Self.macros[trimmed.lowercased()] else {
                throw ParseError(
                    description:
                        "\"\(trimmed)\" is not supported (use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly; "
                        + "@every is relative to when each process started, so processes would not agree on the ticks)")
            }
            expanded = macro
        }
        var fields = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { String($0).uppercased() }
        switch fields.count {
        case 5: fields.insert("0", at: 0)
        case 6: break
        default:
            throw ParseError(
                description:
                    "a cron expression has 5 fields (minute hour day month weekday) or 6 (seconds first); \"\(text)\" has \(fields.count)"
            )
        }
        isInterval = fields[0...2].contains { $0.contains("*") || $0.contains("/") }
        seconds = try Self.field(fields[0], "second", 0...59)
        minutes = try Self.field(fields[1], "minute", 0...59)
        hours = try Self.field(fields[2], "hour", 0...23)
        months = try Self.field(fields[4], "month", 1...12, names: Self.monthNames, nameBase: 1)
        try parseDaysOfMonth(fields[3])
        try parseDaysOfWeek(fields[5])
    }

    private mutating func parseDaysOfMonth(_ text: String) throws(ParseError) {
        dayOfMonthRestricted = !(text == "*" || text == "?")
        var rest: [String] = []
        for item in text.split(separator: ",").map(String.init) {
            if item == "L" { lastDayOfMonth = true } else { rest.append(item) }
        }
        if !rest.isEmpty { daysOfMonth = try Self.field(rest.joined(separator: ","), "day of month", 1...31) }
    }

    private mutating func parseDaysOfWeek(_ text: String) throws(ParseError) {
        dayOfWeekRestricted = !(text == "*" || text == "?")
        var rest: [String] = []
        for item in text.split(separator: ",").map(String.init) {
            if let hash = item.firstIndex(of: "#") {
                let day =
                    try Self.value(String(item[..<hash]), "day of week", 0...7, names: Self.dayNames, nameBase: 0) % 7
                guard let n = Int(item[item.index(after: hash)...]), (1...5).contains(n) else {
                    throw ParseError(description: "\"\(item)\": the n in weekday#n must be 1 to 5")
                }
                nthWeekdays.append(day * 10 + n)
            } else if item.count > 1 && (item.hasPrefix("L") || item.hasSuffix("L")) {
                let day = try Self.value(
                    item.hasPrefix("L") ? String(item.dropFirst()) : String(item.dropLast()), "day of week", 0...7,
                    names: Self.dayNames, nameBase: 0)
                lastWeekdays |= 1 << UInt64(day % 7)
            } else {
                rest.append(item)
            }
        }
        if !rest.isEmpty {
            let bits = try Self.field(
                rest.joined(separator: ","), "day of week", 0...7, names: Self.dayNames, nameBase: 0)
            daysOfWeek = (bits & 0x7F) | (bits >> 7 & 1)  // 7 is Sunday too
        }
    }

    private static func field(
        _ text: String, _ name: String, _ range: ClosedRange<Int>, names: [String] = [], nameBase: Int = 0
    ) throws(ParseError) -> UInt64 {
        if text == "?" {
            guard name.hasPrefix("day") else {
                throw ParseError(description: "\"?\" is only allowed in the day fields")
            }
            return bits(range, step: 1)
        }
        var result: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            guard !item.isEmpty else {
                throw ParseError(description: "empty list item in the \(name) field \"\(text)\"")
            }
            var base = item
            var step = 1
            if let slash = item.firstIndex(of: "/") {
                base = String(item[..<slash])
                let stepText = item[item.index(after: slash)...]
                guard stepText.allSatisfy({ $0.isASCII && $0.isNumber }), let parsed = Int(stepText), parsed > 0 else {
                    throw ParseError(description: "\"\(item)\": a step must be a positive number")
                }
                step = parsed
            }
            let low: Int
            let high: Int
            if base == "*" {
                (low, high) = (range.lowerBound, name == "day of week" ? 6 : range.upperBound)
            } else if let dash = base.firstIndex(of: "-") {
                low = try value(String(base[..<dash]), name, range, names: names, nameBase: nameBase)
                var end = try value(
                    String(base[base.index(after: dash)...]), name, range, names: names, nameBase: nameBase)
                // `sat-sun`, `mon-sun`, `5-sun`: Sunday ends the week
                if name == "day of week" && end == 0 && low > 0 { end = 7 }
                high = end
                guard low <= high else {
                    throw ParseError(description: "\"\(item)\": the range in the \(name) field runs backwards")
                }
            } else {
                var start = try value(base, name, range, names: names, nameBase: nameBase)
                // `1/2` steps through the week's seven days, 0-6: 7 is only another name for
                // Sunday, so `7/2` starts on Sunday too (found by fuzzing: it made a backwards range).
                if item.contains("/") && name == "day of week" && start == 7 { start = 0 }
                low = start
                high = item.contains("/") ? (name == "day of week" ? 6 : range.upperBound) : low
            }
            result |= bits(low...high, step: step)
        }
        return result
    }

    private static func value(
        _ text: String, _ name: String, _ range: ClosedRange<Int>, names: [String], nameBase: Int
    ) throws(ParseError) -> Int {
        if let index = names.firstIndex(of: text) { return index + nameBase }
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(text),
            range.contains(number)
        else {
            if text == "H" || text == "R" || text.hasSuffix("W") || text.hasPrefix("H(") {
                throw ParseError(
                    description:
                        "\"\(text)\" in the \(name) field is not supported (W, H and R are croniter extensions that DBOS's other SDKs do not share)"
                )
            }
            throw ParseError(
                description:
                    "\"\(text)\" is not a valid \(name) (\(range.lowerBound)-\(range.upperBound)\(names.isEmpty ? "" : " or a name"))"
            )
        }
        return number
    }

    private static func bits(_ range: ClosedRange<Int>, step: Int) -> UInt64 {
        var result: UInt64 = 0
        for value in stride(from: range.lowerBound, through: range.upperBound, by: step) {
            result |= 1 << UInt64(value)
        }
        return result
    }

    // MARK: Matching

    /// Whether the day `date` matches the day fields (and the month).
    func matches(_ date: CivilDate) -> Bool {
        guard months & (1 << UInt64(date.month)) != 0 else { return false }
        let length = CivilDate.daysIn(year: date.year, month: date.month)
        let weekday = date.weekday
        let dayOfMonth = daysOfMonth & (1 << UInt64(date.day)) != 0 || (lastDayOfMonth && date.day == length)
        let dayOfWeek =
            daysOfWeek & (1 << UInt64(weekday)) != 0 || nthWeekdays.contains(weekday * 10 + (date.day - 1) / 7 + 1)
            || (lastWeekdays & (1 << UInt64(weekday)) != 0 && date.day + 7 > length)
        switch (dayOfMonthRestricted, dayOfWeekRestricted) {
        case (true, true): return dayOfMonth || dayOfWeek
        case (true, false): return dayOfMonth
        case (false, true): return dayOfWeek
        case (false, false): return true
        }
    }

    /// The first matching second of the day at or after `second` (of the day), if any.
    func firstTime(in date: CivilDate, atOrAfter second: Int) -> Int? {
        for hour in second / 3600...23 where hours & (1 << UInt64(hour)) != 0 {
            for minute in 0...59 where minutes & (1 << UInt64(minute)) != 0 {
                for s in 0...59 where seconds & (1 << UInt64(s)) != 0 {
                    let candidate = hour * 3600 + minute * 60 + s
                    if candidate >= second { return candidate }
                }
            }
        }
        return nil
    }

    /// The first matching wall-clock time strictly after `time`, within 400 years (the Gregorian
    /// cycle, so a rare tick such as a fifth Monday in February, 28 or more years away, is found).
    func next(after time: CivilTime) -> CivilTime? {
        var date = time.date
        var from = time.secondOfDay + 1
        let last = CivilDate(year: date.year + 400, month: date.month, day: 1)
        while date < last {
            if months & (1 << UInt64(date.month)) == 0 {  // skip a month that cannot match
                date =
                    date.month == 12
                    ? CivilDate(year: date.year + 1, month: 1, day: 1)
                    : CivilDate(year: date.year, month: date.month + 1, day: 1)
                from = 0
                continue
            }
            if from < 86_400, matches(date), let second = firstTime(in: date, atOrAfter: from) {
                return CivilTime(date: date, secondOfDay: second)
            }
            date = date.next
            from = 0
        }
        return nil
    }
}

extension String {
    var trimmingWhitespace: String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view.removeFirst() }
        while let last = view.last, last.isWhitespace { view.removeLast() }
        return String(view)
    }
}
