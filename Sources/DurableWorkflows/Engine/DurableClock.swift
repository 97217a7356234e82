#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The engine's source of time: wall-clock readings and waits.
///
/// Production uses ``SystemDurableClock``; tests inject a clock whose time they control, so
/// retries, backoff and (later) timeouts are tested without real waiting.
public protocol DurableClock: Sendable {
    /// Now, in Unix milliseconds.
    func nowMilliseconds() -> Int64
    /// Waits for `duration` (or returns early if the task is cancelled).
    func sleep(for duration: Duration) async throws
}

/// Real time.
public struct SystemDurableClock: DurableClock {
    /// Creates the clock.
    public init() {}

    public func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }
}

extension Duration {
    /// Whole milliseconds (rounded down).
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
