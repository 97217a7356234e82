import DurableLog

/// A workflow run on a cron schedule, once per tick across every process on the data directory.
///
/// ```swift
/// engine.register(NightlyReport())
/// engine.schedule(NightlyReport.self, try CronSchedule("nightly-report", cron: "0 2 * * *", timeZone: "Europe/Berlin"))
/// ```
///
/// The workflow's input is a ``ScheduledRun`` (the tick's time and when it actually fired).
public struct CronSchedule: Sendable {
    /// What happens to ticks missed while no executor ran.
    public enum CatchUp: Sendable, Equatable {
        /// They are skipped (DBOS's default).
        case none
        /// The latest `n` of them (looking back at most 7 days) run when an executor starts.
        case latest(Int)
    }

    /// The schedule's name (part of every tick's workflow ID: keep it stable).
    public var name: String
    /// When it fires.
    public var expression: CronExpression
    /// The IANA time zone the expression is read in.
    public var timeZone: String
    /// The queue its workflows run on (the internal queue if `nil`).
    public var queue: String?
    /// Missed ticks.
    public var catchUp: CatchUp
    let rules: ZoneRules

    /// A schedule. Throws if the expression or the time zone is not valid.
    public init(
        _ name: String, cron: String, timeZone: String = "UTC", queue: String? = nil, catchUp: CatchUp = .none
    ) throws {
        self.name = name
        expression = try CronExpression(cron)
        self.timeZone = timeZone
        self.queue = queue
        self.catchUp = catchUp
        rules = try ZoneRules(timeZone)
    }

    /// The first tick strictly after `milliseconds` (Unix ms).
    ///
    /// A wall-clock time that does not exist (skipped by a spring-forward change) has no tick.
    /// In the hour a fall-back change repeats, a fixed-time schedule (`30 1 * * *`) fires once,
    /// at the first occurrence, while an interval schedule (`*/15 * * * *`, `@hourly`) keeps
    /// firing by real time, through both occurrences.
    public func nextTick(after milliseconds: Int64) -> ScheduledTick? {
        let after = Int(milliseconds.floorDivided(by: 1000))
        var found = firstTick(afterWall: rules.civil(at: after), after: after)
        // An interval schedule in the first pass of a repeated hour: its next tick may be in the
        // second pass, at a wall time earlier than now's. Look there too.
        let horizon = found.map { Int($0.milliseconds / 1000) } ?? after + 3 * 3600
        if expression.isInterval, let fold = rules.fallBack(in: after...horizon) {
            // just before its first wall time
            let secondPass = CivilTime(secondsAsUTC: rules.civil(at: fold).secondsAsUTC - 1)
            if let repeated = firstTick(afterWall: secondPass, after: after),
                repeated.milliseconds < found?.milliseconds ?? .max
            {
                found = repeated
            }
        }
        return found
    }

    /// The first tick at a wall time after `wall` whose instant is after `after` (seconds).
    private func firstTick(afterWall start: CivilTime, after: Int) -> ScheduledTick? {
        var wall = start
        while let candidate = expression.next(after: wall) {
            wall = candidate
            let instants = rules.instants(of: candidate)  // none in a gap
            // A fixed time fires at its first occurrence only; an interval at every one.
            let eligible = expression.isInterval ? instants : Array(instants.prefix(1))
            guard let instant = eligible.first(where: { $0 > after }) else { continue }
            return ScheduledTick(
                milliseconds: Int64(instant) * 1000,
                iso8601: candidate.iso8601(offsetSeconds: rules.offset(at: instant)))
        }
        return nil
    }

    /// The ticks in `(start, end]` (Unix ms), oldest first.
    public func ticks(after start: Int64, through end: Int64, limit: Int = .max) -> [ScheduledTick] {
        var ticks: [ScheduledTick] = []
        var cursor = start
        while ticks.count < limit, let tick = nextTick(after: cursor), tick.milliseconds <= end {
            ticks.append(tick)
            cursor = tick.milliseconds
        }
        return ticks
    }

    /// The workflow ID of a tick: `sched-<name>-<ISO 8601 with offset>`, as DBOS names it.
    public func workflowID(for tick: ScheduledTick) -> String { "sched-\(name)-\(tick.iso8601)" }
}

/// One tick of a schedule.
public struct ScheduledTick: Sendable, Equatable {
    /// The instant, Unix ms.
    public var milliseconds: Int64
    /// The wall-clock time in the schedule's zone with its offset (`2026-11-01T01:30:00-04:00`).
    public var iso8601: String
}

/// The input of a scheduled workflow.
public struct ScheduledRun: Codable, Sendable, Equatable {
    /// The tick, Unix ms.
    public var scheduledAt: Int64
    /// The tick as ISO 8601 in the schedule's zone.
    public var scheduledTime: String
    /// When the scheduler actually fired it (created the workflow), Unix ms.
    public var actualAt: Int64
    /// Whether it was triggered by hand (`durable schedules trigger`) rather than by a tick.
    public var triggered: Bool

    /// A run's input.
    public init(scheduledAt: Int64, scheduledTime: String, actualAt: Int64, triggered: Bool = false) {
        self.scheduledAt = scheduledAt
        self.scheduledTime = scheduledTime
        self.actualAt = actualAt
        self.triggered = triggered
    }
}

extension Int64 {
    func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
