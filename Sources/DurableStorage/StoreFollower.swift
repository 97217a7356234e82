/// Reads something a store keeps growing (a workflow's history, an inbox) as it grows: each
/// ``read()`` returns what was appended since the previous one, so a waiter that wakes many
/// times reads each item once instead of everything every time.
///
/// A follower is used by one task at a time. The way to wait without losing a wake-up is:
/// ``read()``, look at what it returned, then ``waitForAppend(timeout:)``; an append that lands
/// after the read began ends that wait at once.
public protocol StoreFollower<Element>: AnyObject, Sendable {
    /// What the follower reads.
    associatedtype Element: Sendable

    /// What was appended since the previous read (everything, on the first read; nothing while
    /// nothing exists yet). When ``StoreBatch/restarted`` is set, the batch starts again from
    /// the first item and the caller drops what it built from earlier batches.
    ///
    /// Throws ``WorkflowStoreError/Code/damaged`` once the stored items are known to be damaged
    /// (or the workflow is quarantined): they do not heal, so waiting on would wait forever.
    func read() async throws -> StoreBatch<Element>

    /// Returns once something may have been appended after the latest ``read()`` began, after
    /// `timeout`, or when the task is cancelled. It may return early: callers read again.
    func waitForAppend(timeout: Duration) async

    /// Whether something may have been appended since the latest ``read()`` began, told from
    /// memory (no I/O; it may answer true when nothing changed). For cheap checks on hot paths.
    func mayHaveAppends() -> Bool
}

/// What one ``StoreFollower/read()`` returned.
public struct StoreBatch<Element: Sendable>: Sendable {
    /// The new items, in order.
    public var elements: [Element]
    /// Whether the items start again from the first (what was read before is void).
    public var restarted: Bool

    /// Creates a batch.
    public init(_ elements: [Element], restarted: Bool = false) {
        self.elements = elements
        self.restarted = restarted
    }
}
