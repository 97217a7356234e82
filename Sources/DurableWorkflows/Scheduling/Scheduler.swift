import FoundationEssentials
import Logging

/// Operator actions on schedules, on any store.
extension WorkflowStore {
    /// Pauses (ticks are skipped) or resumes schedule `name`, in every process.
    func setSchedulePaused(_ name: String, _ paused: Bool) async throws {
        guard try await schedule(named: name) != nil else { throw Self.noSchedule(name) }
        try await updateSchedule(named: name) { state in
            guard var state else { return nil }
            state.paused = paused
            return state
        }
    }

    /// Starts schedule `name`'s workflow once now (ID `sched-<name>-trigger-<ISO time>`), paused or not.
    func triggerSchedule(_ name: String, executorID: String, at now: Int64) async throws -> String {
        guard let state = try await schedule(named: name) else { throw Self.noSchedule(name) }
        let rules = try ZoneRules(state.timeZone)
        let seconds = Int(now.floorDivided(by: 1000))
        let iso = rules.civil(at: seconds).iso8601(offsetSeconds: rules.offset(at: seconds))
        let run = ScheduledRun(scheduledAt: now, scheduledTime: iso, actualAt: now, triggered: true)
        let request = EnqueueRequest(
            workflowName: state.workflowName, inputs: try WorkflowJSON.inputs(run),
            queueName: state.queue ?? WorkflowQueue.internalQueueName,
            options: EnqueueOptions(id: "sched-\(name)-trigger-\(iso)"), executorID: executorID)
        return try await enqueueWorkflow(request, now: now).id
    }

    private static func noSchedule(_ name: String) -> WorkflowError {
        WorkflowError("no schedule is named \"\(name)\" (an executor records it when it starts)", code: .notFound)
    }
}

/// Fires one schedule's ticks from one executor. Every executor that registered the schedule runs
/// one; a tick's workflow ID is deterministic and its log is created with `link()`, so whichever
/// process gets there first creates it and the others find it there: exactly one run per tick,
/// with no leader and no lock.
final class ScheduleRunner: Sendable {
    let schedule: CronSchedule
    let workflowName: String
    private weak let engine: DurableEngine?

    /// How far back a catch-up looks for missed ticks.
    static let catchUpWindow: Int64 = 7 * 24 * 3600 * 1000

    init(schedule: CronSchedule, workflowName: String, engine: DurableEngine) {
        self.schedule = schedule
        self.workflowName = workflowName
        self.engine = engine
    }

    /// Fires every tick after `start` (the engine's launch) until cancelled. A failure (a full
    /// disk, say) is logged and the same tick retried a second later; it never stops the schedule.
    func run(from start: Int64) async {
        guard let engine else { return }
        let clock = engine.configuration.clock
        var lastFired: Int64?
        while true {
            do {
                lastFired = try await publish(engine)
                break
            } catch {
                engine.logger.error(
                    "could not record the schedule; retrying",
                    metadata: ["schedule": "\(schedule.name)", "error": "\(error)"])
                guard (try? await Task.sleep(for: .seconds(1))) != nil else { return }
            }
        }
        var cursor = start
        if case .latest(let count) = schedule.catchUp, count > 0, let lastFired, await !isPaused(engine) {
            let missed = schedule.ticks(after: max(lastFired, cursor - Self.catchUpWindow), through: cursor)
            if missed.count > count {
                engine.logger.warning(
                    "catching up on the latest missed ticks only",
                    metadata: [
                        "schedule": "\(schedule.name)", "missed": "\(missed.count)", "firing": "\(count)",
                    ])
            }
            for tick in missed.suffix(count) { try? await fire(tick, engine) }
        }
        while !Task.isCancelled {
            guard let tick = schedule.nextTick(after: cursor) else {
                engine.logger.warning("the schedule has no further ticks", metadata: ["schedule": "\(schedule.name)"])
                return
            }
            let wait = tick.milliseconds - clock.nowMilliseconds()
            if wait > 0 {
                do { try await clock.sleep(for: .milliseconds(wait)) } catch { return }
            }
            do {
                // A paused schedule still moves its last fire time on, so a later catch-up does
                // not replay the ticks it skipped.
                if await isPaused(engine) { try await recordFired(tick, engine) } else { try await fire(tick, engine) }
                cursor = tick.milliseconds
            } catch {
                engine.logger.error(
                    "could not fire a tick; retrying",
                    metadata: ["schedule": "\(schedule.name)", "tick": "\(tick.iso8601)", "error": "\(error)"])
                guard (try? await Task.sleep(for: .seconds(1))) != nil else { return }
            }
        }
    }

    private func isPaused(_ engine: DurableEngine) async -> Bool {
        (try? await engine.storage.schedule(named: schedule.name))??.paused == true
    }

    /// Records the schedule's definition (keeping its last fire time and pause flag, or deriving
    /// the fire time from the workflows if the state is damaged); returns the last fire time.
    private func publish(_ engine: DurableEngine) async throws -> Int64? {
        var state = ScheduleState(
            name: schedule.name, cron: schedule.expression.description, timeZone: schedule.timeZone,
            workflowName: workflowName, queue: schedule.queue)
        var old: ScheduleState?
        do {
            old = try await engine.storage.schedule(named: schedule.name)
        } catch {
            guard let damaged = error as? WorkflowStoreError, damaged.code == .damaged else { throw error }
            engine.logger.warning(
                "the schedule's state record is damaged; rebuilding it from the logs (a pause is lost)",
                metadata: ["schedule": "\(schedule.name)"])
        }
        if let old {
            state.lastFiredAt = old.lastFiredAt
            state.paused = old.paused
        } else {
            // No readable state: the latest tick's workflow says when it last fired.
            let prefix = "sched-\(schedule.name)-"
            var filter = WorkflowFilter()
            filter.idPrefix = prefix
            state.lastFiredAt = try await engine.storage.list(filter)
                .filter { !$0.workflowID.hasPrefix(prefix + "trigger-") }.map(\.createdAt).max()
        }
        let published = state
        try await engine.storage.updateSchedule(named: schedule.name) { current in
            var merged = published
            if let current {
                merged.lastFiredAt = current.lastFiredAt
                merged.paused = current.paused
            }
            return merged
        }
        return state.lastFiredAt
    }

    private func fire(_ tick: ScheduledTick, _ engine: DurableEngine) async throws {
        let now = engine.configuration.clock.nowMilliseconds()
        let run = ScheduledRun(scheduledAt: tick.milliseconds, scheduledTime: tick.iso8601, actualAt: now)
        let request = EnqueueRequest(
            workflowName: workflowName, inputs: try WorkflowJSON.inputs(run),
            queueName: schedule.queue ?? WorkflowQueue.internalQueueName,
            options: EnqueueOptions(id: schedule.workflowID(for: tick)), executorID: engine.configuration.executorID)
        _ = try await engine.storage.enqueueWorkflow(request, now: now)
        try await recordFired(tick, engine)
    }

    /// Moves the schedule's last fire time on to `tick` (never back).
    private func recordFired(_ tick: ScheduledTick, _ engine: DurableEngine) async throws {
        let firedAt = tick.milliseconds
        try await engine.storage.updateSchedule(named: schedule.name) { state in
            guard var state, (state.lastFiredAt ?? .min) < firedAt else { return nil }
            state.lastFiredAt = firedAt
            return state
        }
    }
}

extension DurableEngine {
    /// Runs `W` on `schedule` (register `W` too). Register schedules before ``launch()``; every
    /// executor that registers a schedule takes part in firing it, and each tick runs once.
    public func schedule<W: Workflow>(_ type: W.Type, _ schedule: CronSchedule) where W.Input == ScheduledRun {
        self.schedule(workflowNamed: W.name, schedule)
    }
}

extension ScheduleState {
    /// The last fire time as Python's `datetime.isoformat()` writes it in UTC (ticks are whole
    /// seconds), the form of DBOS's `workflow_schedules.last_fired_at`.
    public var lastFiredAtISO8601: String? {
        lastFiredAt.map { CivilTime(secondsAsUTC: Int($0 / 1000)).iso8601(offsetSeconds: 0) }
    }
}

extension WorkflowReading {
    /// Every schedule an executor recorded, by name: its definition, when it last fired, and
    /// whether it is paused.
    public func schedules() async throws -> [ScheduleState] { try await storage.schedules() }

    /// Skips schedule `name`'s ticks, in every process, until ``resumeSchedule(_:)``. A paused
    /// schedule still moves its last fire time on, so resuming does not replay what it skipped.
    public func pauseSchedule(_ name: String) async throws { try await storage.setSchedulePaused(name, true) }

    /// Fires a paused schedule's ticks again.
    public func resumeSchedule(_ name: String) async throws { try await storage.setSchedulePaused(name, false) }

}

extension DurableEngine {
    /// Starts schedule `name`'s workflow once now, paused or not, and returns its ID
    /// (`sched-<name>-trigger-<ISO time>`).
    public func triggerSchedule(_ name: String) async throws -> String {
        try await storage.triggerSchedule(
            name, executorID: configuration.executorID, at: configuration.clock.nowMilliseconds())
    }
}

extension DurableClient {
    /// Starts schedule `name`'s workflow once now, paused or not, and returns its ID
    /// (`sched-<name>-trigger-<ISO time>`).
    public func triggerSchedule(_ name: String) async throws -> String {
        try await storage.triggerSchedule(name, executorID: clientID, at: clock.nowMilliseconds())
    }
}
