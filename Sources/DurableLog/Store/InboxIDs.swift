import DurableStorage

/// What a process read of an inbox it sent to: a cursor at the end of the records read and the
/// item IDs they hold. A send checks its idempotency key against these and reads only what
/// others appended since (under the inbox's lock), instead of reading and decoding the whole
/// inbox every time: sending n messages to one inbox costs O(n), not O(n²).
struct InboxIDs: Sendable {
    var cursor: LogCursor
    var ids: Set<String> = []

    /// The inboxes a store knows, at most ``limit`` (the longest unused go first).
    struct Cache: Sendable {
        static let limit = 4096
        private var entries: [LogKey: InboxIDs] = [:]
        private var order: [LogKey] = []

        /// Removes and returns what is known of inbox `key`.
        mutating func take(_ key: LogKey) -> InboxIDs? {
            guard let known = entries.removeValue(forKey: key) else { return nil }
            order.removeAll { $0 == key }
            return known
        }

        /// Keeps `known` for inbox `key`, forgetting the least recently kept past the limit.
        mutating func put(_ key: LogKey, _ known: InboxIDs) {
            if entries.updateValue(known, forKey: key) == nil { order.append(key) }
            while order.count > Self.limit { entries[order.removeFirst()] = nil }
        }

        /// Forgets inbox `key` (deleted).
        mutating func forget(_ key: LogKey) {
            if entries.removeValue(forKey: key) != nil { order.removeAll { $0 == key } }
        }
    }
}
