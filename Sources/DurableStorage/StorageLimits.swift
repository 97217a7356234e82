/// Limits every backend accepts, so an application moves between backends unchanged.
public enum StorageLimits {
    /// The longest workflow ID, queue name, partition key, deduplication ID, topic or key, in
    /// bytes of UTF-8 (DBOS keeps them as PostgreSQL `TEXT`; no NUL is allowed either).
    public static let maxNameBytes = 64 * 1024
    /// The most workflows of one queue that may run at once (per partition).
    public static let maxQueueConcurrency = 65_535
}
