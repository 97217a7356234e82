import DurableWorkflows
import Synchronization

/// A clock whose time moves only when told to, for testing retries, backoff and timeouts
/// without real waiting. `sleep(for:)` returns at once after advancing time by the duration and
/// recording it in ``sleeps``.
public final class ManualClock: DurableClock {
    private let state: Mutex<(now: Int64, sleeps: [Duration])>

    /// Creates a clock reading `start` (Unix ms).
    public init(start: Int64 = 1_800_000_000_000) {
        state = Mutex((start, []))
    }

    public func nowMilliseconds() -> Int64 { state.withLock { $0.now } }

    public func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        state.withLock { s in
            s.sleeps.append(duration)
            s.now += Int64(duration.components.seconds * 1000) + Int64(duration.components.attoseconds / 1_000_000_000_000_000)
        }
    }

    /// Every sleep requested so far.
    public var sleeps: [Duration] { state.withLock { $0.sleeps } }

    /// Moves time forward.
    public func advance(by duration: Duration) {
        state.withLock { $0.now += Int64(duration.components.seconds * 1000) + Int64(duration.components.attoseconds / 1_000_000_000_000_000) }
    }
}
