/// How a step is retried before its single checkpoint is written.
///
/// Attempt *n* (from 1) that fails waits `min(interval × backoffRate^(n-1), maxInterval)`
/// before attempt *n+1*. After `maxAttempts` failures the last error is recorded and thrown.
public struct StepRetryPolicy: Sendable, Equatable {
    /// Total attempts, including the first (1 = no retry).
    public var maxAttempts: Int
    /// Wait before the first retry.
    public var interval: Duration
    /// Factor applied to the wait after each retry.
    public var backoffRate: Double
    /// Upper bound of any wait.
    public var maxInterval: Duration

    /// Creates a policy.
    public init(
        maxAttempts: Int, interval: Duration = .seconds(1), backoffRate: Double = 2,
        maxInterval: Duration = .seconds(3600)
    ) {
        precondition(maxAttempts >= 1, "a step needs at least one attempt")
        self.maxAttempts = maxAttempts
        self.interval = interval
        self.backoffRate = backoffRate
        self.maxInterval = maxInterval
    }

    /// Run once; never retry.
    public static let none = StepRetryPolicy(maxAttempts: 1)

    /// Exponential backoff (DBOS's defaults: 1 s, doubling).
    public static func exponential(
        maxAttempts: Int, interval: Duration = .seconds(1), backoffRate: Double = 2,
        maxInterval: Duration = .seconds(3600)
    ) -> StepRetryPolicy {
        StepRetryPolicy(
            maxAttempts: maxAttempts, interval: interval, backoffRate: backoffRate, maxInterval: maxInterval)
    }

    /// The wait after failed attempt `attempt` (1-based).
    public func delay(afterAttempt attempt: Int) -> Duration {
        var delay = interval
        for _ in 1..<max(1, attempt) { delay = delay * backoffRate }
        return min(delay, maxInterval)
    }
}
