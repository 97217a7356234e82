import DurableWorkflows
import Synchronization

/// A clock whose time moves only when told to, for testing retries, backoff, timeouts and
/// schedules without real waiting. `sleep(for:)` returns at once after advancing time by the
/// duration and recording it in ``sleeps``, up to an optional horizon: a sleep that would pass it
/// advances time to the horizon and then waits (in real time) until ``advance(by:)`` moves the
/// clock past its end, or the task is cancelled. A horizon lets a scheduler run through months
/// of simulated time in a moment and then stop.
public final class ManualClock: DurableClock {
    private let state: Mutex<(now: Int64, sleeps: [Duration])>
    private let horizon: Int64?

    /// Creates a clock reading `start` (Unix ms) whose sleeps run freely up to `horizon` (Unix ms).
    public init(start: Int64 = 1_800_000_000_000, horizon: Int64? = nil) {
        state = Mutex((start, []))
        self.horizon = horizon
    }

    public func nowMilliseconds() -> Int64 { state.withLock { $0.now } }

    public func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        let milliseconds =
            Int64(duration.components.seconds * 1000) + Int64(duration.components.attoseconds / 1_000_000_000_000_000)
        let target = state.withLock { s in
            s.sleeps.append(duration)
            let target = s.now + milliseconds
            s.now = min(target, max(horizon ?? .max, s.now))
            return target
        }
        while nowMilliseconds() < target {
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Every sleep requested so far.
    public var sleeps: [Duration] { state.withLock { $0.sleeps } }

    /// Moves time forward.
    public func advance(by duration: Duration) {
        state.withLock {
            $0.now +=
                Int64(duration.components.seconds * 1000)
                + Int64(duration.components.attoseconds / 1_000_000_000_000_000)
        }
    }
}
