import DurableWorkflows
import Foundation
import Testing

/// Unix ms of an ISO 8601 UTC time.
func utc(_ text: String) -> Int64 {
    let formatter = ISO8601DateFormatter()
    return Int64(formatter.date(from: text)!.timeIntervalSince1970 * 1000)
}

func ticks(_ cron: String, _ zone: String = "UTC", from: String, to: String) throws -> [String] {
    try CronSchedule("s", cron: cron, timeZone: zone).ticks(after: utc(from), through: utc(to)).map(\.iso8601)
}

@Suite("Cron expressions and time zones", .timeLimit(.minutes(3)))
struct CronTests {
    @Test("fields, steps, lists, names, seconds, L, #n and last-weekday")
    func syntax() throws {
        #expect(
            try ticks("*/20 * * * * *", from: "2026-11-20T10:00:00Z", to: "2026-11-20T10:01:00Z")
                == ["2026-11-20T10:00:20+00:00", "2026-11-20T10:00:40+00:00", "2026-11-20T10:01:00+00:00"])
        #expect(
            try ticks("0 0 9 * * MON-FRI", from: "2026-11-20T00:00:00Z", to: "2026-11-24T00:00:00Z")
                == ["2026-11-20T09:00:00+00:00", "2026-11-23T09:00:00+00:00"])
        #expect(
            try ticks("15,45 8-9 * jan,nov *", from: "2026-11-20T00:00:00Z", to: "2026-11-20T23:00:00Z")
                == [
                    "2026-11-20T08:15:00+00:00", "2026-11-20T08:45:00+00:00", "2026-11-20T09:15:00+00:00",
                    "2026-11-20T09:45:00+00:00",
                ])
        #expect(
            try ticks("0 12 L * *", from: "2026-02-01T00:00:00Z", to: "2026-04-01T00:00:00Z")
                == ["2026-02-28T12:00:00+00:00", "2026-03-31T12:00:00+00:00"])
        #expect(
            try ticks("0 12 * * fri#3", from: "2026-11-01T00:00:00Z", to: "2026-12-31T00:00:00Z")
                == ["2026-11-20T12:00:00+00:00", "2026-12-18T12:00:00+00:00"])
        #expect(
            try ticks("0 12 ? * L5", from: "2026-11-01T00:00:00Z", to: "2026-12-31T00:00:00Z")
                == ["2026-11-27T12:00:00+00:00", "2026-12-25T12:00:00+00:00"])
        // Both day fields restricted: either matches (classic cron).
        #expect(
            try ticks("0 0 13 * 5", from: "2026-11-01T00:00:00Z", to: "2026-11-21T00:00:00Z")
                == ["2026-11-06T00:00:00+00:00", "2026-11-13T00:00:00+00:00", "2026-11-20T00:00:00+00:00"])
        #expect(
            try ticks("0 0 * * 7", from: "2026-11-20T00:00:00Z", to: "2026-11-23T00:00:00Z") == [
                "2026-11-22T00:00:00+00:00"
            ])
        #expect(
            try ticks("@daily", from: "2026-11-20T00:00:00Z", to: "2026-11-22T00:00:00Z")
                == ticks("0 0 * * *", from: "2026-11-20T00:00:00Z", to: "2026-11-22T00:00:00Z"))
        #expect(try ticks("@hourly", from: "2026-11-20T00:00:00Z", to: "2026-11-20T02:00:00Z").count == 2)
    }

    @Test(
        "refused expressions say why",
        arguments: [
            "* * * *", "0 0 0 1 1 * 2026", "@every 5m", "@reboot", "0 0 15W * *", "H * * * *", "5-1 * * * *",
            "60 * * * *",
            "0 0 * * MON#6", "0 0 * 13 *", "*/0 * * * *", "0 ? * * *",
        ])
    func refused(_ cron: String) {
        #expect(throws: CronExpression.ParseError.self) { try CronExpression(cron) }
    }

    @Test("an unknown time zone is refused")
    func unknownZone() {
        #expect(throws: WorkflowError.self) { try CronSchedule("s", cron: "@daily", timeZone: "Mars/Olympus_Mons") }
    }

    @Test("New York: the spring-forward 02:30 does not exist, the fall-back 01:30 fires once")
    func newYorkDaylightSaving() throws {
        #expect(
            try ticks("30 2 * * *", "America/New_York", from: "2026-03-06T12:00:00Z", to: "2026-03-10T00:00:00Z")
                == ["2026-03-07T02:30:00-05:00", "2026-03-09T02:30:00-04:00"])
        #expect(
            try ticks("30 1 * * *", "America/New_York", from: "2026-10-30T12:00:00Z", to: "2026-11-02T12:00:00Z")
                == ["2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"])
        // Hourly across the fall-back: an interval keeps firing by real time, in both 01:00 hours.
        let hourly = try CronSchedule("s", cron: "0 * * * *", timeZone: "America/New_York")
            .ticks(after: utc("2026-11-01T03:30:00Z"), through: utc("2026-11-01T08:30:00Z"))
        #expect(
            hourly.map(\.iso8601) == [
                "2026-11-01T00:00:00-04:00", "2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00",
                "2026-11-01T02:00:00-05:00",
                "2026-11-01T03:00:00-05:00",
            ])
        #expect(hourly.map(\.milliseconds) == ["04", "05", "06", "07", "08"].map { utc("2026-11-01T\($0):00:00Z") })
    }

    @Test(
        "an interval schedule keeps firing by real time through the repeated hour of a fall-back; a fixed time fires once"
    )
    func intervalsThroughTheRepeatedHour() throws {
        let every30 = try CronSchedule("s", cron: "*/30 * * * *", timeZone: "America/New_York")
            .ticks(after: utc("2026-11-01T04:40:00Z"), through: utc("2026-11-01T07:10:00Z"))
        #expect(
            every30.map(\.milliseconds)
                == ["05:00", "05:30", "06:00", "06:30", "07:00"].map { utc("2026-11-01T\($0):00Z") })
        #expect(
            every30.map(\.iso8601) == [
                "2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T01:00:00-05:00",
                "2026-11-01T01:30:00-05:00",
                "2026-11-01T02:00:00-05:00",
            ])
        // Asked from inside the first pass, the next tick is the second pass's first, not 02:00.
        let schedule = try CronSchedule("s", cron: "*/30 * * * *", timeZone: "America/New_York")
        #expect(schedule.nextTick(after: utc("2026-11-01T05:45:00Z"))?.milliseconds == utc("2026-11-01T06:00:00Z"))
        #expect(
            try ticks("15 1 * * *", "America/New_York", from: "2026-11-01T04:00:00Z", to: "2026-11-01T08:00:00Z") == [
                "2026-11-01T01:15:00-04:00"
            ])
        #expect(
            try ticks("0 1-2 * * *", "America/New_York", from: "2026-11-01T04:00:00Z", to: "2026-11-01T08:00:00Z")
                == ["2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00"], "a list of fixed hours is fixed times")
        // Berlin's repeated 02:00 hour too.
        #expect(
            try ticks("0,30 * * * *", "Europe/Berlin", from: "2026-10-25T00:10:00Z", to: "2026-10-25T01:50:00Z")
                == ["2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+01:00", "2026-10-25T02:30:00+01:00"])
    }

    @Test(
        "weekday ranges may end on Sunday, weekday steps never invent a day 7, far ticks are found, + signs are refused"
    )
    func weekdayEdgeCases() throws {
        // 2026-11-21 is a Saturday.
        #expect(
            try ticks("0 0 * * sat-sun", from: "2026-11-20T00:00:00Z", to: "2026-11-24T00:00:00Z")
                == ["2026-11-21T00:00:00+00:00", "2026-11-22T00:00:00+00:00"])
        #expect(
            try ticks("0 0 * * 5-sun", from: "2026-11-19T00:00:00Z", to: "2026-11-24T00:00:00Z")
                == ["2026-11-20T00:00:00+00:00", "2026-11-21T00:00:00+00:00", "2026-11-22T00:00:00+00:00"])
        #expect(try ticks("0 0 * * mon-sun", from: "2026-11-19T00:00:00Z", to: "2026-11-26T00:00:00Z").count == 7)
        // 1/2 is Monday, Wednesday, Friday: never Sunday as a "day 7".
        #expect(
            try ticks("0 0 * * 1/2", from: "2026-11-19T00:00:00Z", to: "2026-11-29T23:00:00Z")
                == [
                    "2026-11-20T00:00:00+00:00", "2026-11-23T00:00:00+00:00", "2026-11-25T00:00:00+00:00",
                    "2026-11-27T00:00:00+00:00",
                ])
        #expect(
            try ticks("0 0 * * */3", from: "2026-11-21T12:00:00Z", to: "2026-11-28T23:00:00Z")
                == ["2026-11-22T00:00:00+00:00", "2026-11-25T00:00:00+00:00", "2026-11-28T00:00:00+00:00"],
            "Sun, Wed, Sat")
        // 7/2 starts on Sunday (7 is Sunday): Sunday, Tuesday, Thursday, Saturday (found by fuzzing).
        #expect(
            try ticks("0 0 * * 7/2", from: "2026-11-21T12:00:00Z", to: "2026-11-25T23:00:00Z")
                == ["2026-11-22T00:00:00+00:00", "2026-11-24T00:00:00+00:00"])
        // A fifth Monday in February: only in a leap year starting on a Monday, 2044 after 2016.
        let rare = try CronSchedule("s", cron: "0 0 * feb mon#5").nextTick(after: utc("2026-12-01T00:00:00Z"))
        #expect(rare?.iso8601 == "2044-02-29T00:00:00+00:00")
        #expect(
            try CronSchedule("s", cron: "0 0 30 feb *").nextTick(after: utc("2026-12-01T00:00:00Z")) == nil, "never")
        for signed in ["+5 * * * *", "*/+5 * * * *", "0 +1 * * *", "0 0 * * +1"] {
            #expect(throws: CronExpression.ParseError.self, "\(signed)") { try CronExpression(signed) }
        }
    }

    @Test("Berlin: the same rules at its own transition dates")
    func berlinDaylightSaving() throws {
        #expect(
            try ticks("30 2 * * *", "Europe/Berlin", from: "2026-03-27T12:00:00Z", to: "2026-03-31T00:00:00Z")
                == ["2026-03-28T02:30:00+01:00", "2026-03-30T02:30:00+02:00"])
        #expect(
            try ticks("30 2 * * *", "Europe/Berlin", from: "2026-10-23T12:00:00Z", to: "2026-10-27T00:00:00Z")
                == ["2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"])
    }

    @Test("Auckland (UTC+13 in summer): the repeated 02:00 fires once, at its first occurrence")
    func aucklandDaylightSaving() throws {
        #expect(
            try ticks("0 2 * * *", "Pacific/Auckland", from: "2026-04-03T00:00:00Z", to: "2026-04-06T00:00:00Z")
                == ["2026-04-04T02:00:00+13:00", "2026-04-05T02:00:00+13:00", "2026-04-06T02:00:00+12:00"])
    }

    @Test("tick workflow IDs follow DBOS: sched-<name>-<isoformat>")
    func workflowIDs() throws {
        let schedule = try CronSchedule("nightly", cron: "0 2 * * *", timeZone: "Europe/Berlin")
        let tick = try #require(schedule.nextTick(after: utc("2026-11-20T12:00:00Z")))
        #expect(schedule.workflowID(for: tick) == "sched-nightly-2026-11-21T02:00:00+01:00")
        #expect(tick.milliseconds == utc("2026-11-21T01:00:00Z"))
    }
}
