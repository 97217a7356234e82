import Foundation

/// A calendar date without a time zone (proleptic Gregorian).
struct CivilDate: Sendable, Equatable, Comparable {
    var year: Int
    var month: Int
    var day: Int

    static func < (a: CivilDate, b: CivilDate) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The date `days` after 1970-01-01.
    init(daysSinceEpoch days: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// 0 = Sunday ... 6 = Saturday.
    var weekday: Int { ((daysSinceEpoch % 7) + 11) % 7 }

    var next: CivilDate { CivilDate(daysSinceEpoch: daysSinceEpoch + 1) }
}

/// A wall-clock time: a date and a second of the day, in no particular time zone.
struct CivilTime: Sendable, Equatable {
    var date: CivilDate
    var secondOfDay: Int

    /// Seconds since the epoch if this wall-clock time were UTC.
    var secondsAsUTC: Int { date.daysSinceEpoch * 86_400 + secondOfDay }

    init(date: CivilDate, secondOfDay: Int) {
        self.date = date
        self.secondOfDay = secondOfDay
    }

    init(secondsAsUTC seconds: Int) {
        let days = Int((Double(seconds) / 86_400).rounded(.down))
        date = CivilDate(daysSinceEpoch: days)
        secondOfDay = seconds - days * 86_400
    }

    /// `2026-11-01T01:30:00-04:00`: Python's `datetime.isoformat()` for a whole-second, zone-aware time.
    func iso8601(offsetSeconds offset: Int) -> String {
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let sign = offset < 0 ? "-" : "+"
        let magnitude = abs(offset)
        let year = String(repeating: "0", count: max(0, 4 - String(date.year).count)) + String(date.year)
        return
            "\(year)-\(two(date.month))-\(two(date.day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))"
            + "\(sign)\(two(magnitude / 3600)):\(two(magnitude / 60 % 60))"
    }
}

/// An IANA time zone's UTC offsets (from the Foundation time zone database).
struct ZoneRules: Sendable {
    let identifier: String
    private let zone: TimeZone

    init(_ identifier: String) throws {
        guard let zone = TimeZone(identifier: identifier) else {
            throw WorkflowError(
                "unknown time zone \"\(identifier)\" (use an IANA name such as Europe/Berlin)", code: .invalidArgument)
        }
        self.identifier = identifier
        self.zone = zone
    }

    /// The offset from UTC, in seconds, at `seconds` since the epoch.
    func offset(at seconds: Int) -> Int { zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds))) }

    /// The wall-clock time at an instant.
    func civil(at seconds: Int) -> CivilTime { CivilTime(secondsAsUTC: seconds + offset(at: seconds)) }

    /// The first instant of `range` (seconds) at which the offset from UTC drops (a fall-back
    /// change begins, so the wall clock repeats an hour), if there is one.
    func fallBack(in range: ClosedRange<Int>) -> Int? {
        let start = offset(at: range.lowerBound)
        guard offset(at: range.upperBound) < start else { return nil }
        var (low, high) = (range.lowerBound, range.upperBound)  // offset(low) == start > offset(high)
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if offset(at: middle) < start { high = middle } else { low = middle }
        }
        return high
    }

    /// The instants at which the wall clock reads `time`: none in a spring-forward gap, two in a
    /// fall-back overlap, earliest first.
    func instants(of time: CivilTime) -> [Int] {
        let local = time.secondsAsUTC
        // Offsets in force a day either side cover every zone (UTC-12 to UTC+14) and transition.
        let offsets = Set([offset(at: local - 86_400), offset(at: local), offset(at: local + 86_400)])
        return offsets.map { local - $0 }.filter { offset(at: $0) == local - $0 }.sorted()
    }
}
