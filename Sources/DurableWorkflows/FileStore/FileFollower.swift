import DurableLog
import DurableStorage
import Synchronization

/// The file backend's ``StoreFollower``: a ``LogCursor`` on a workflow's log or inbox, woken by
/// the store's file watcher (inotify).
final class FileFollower<Element: Sendable>: StoreFollower {
    /// What is followed.
    enum Kind {
        /// The workflow's log (its history).
        case history
        /// The workflow's inbox.
        case inbox
    }

    private struct State {
        var cursor: LogCursor
        /// The file's version when the latest read began (nil: it did not exist then).
        var version: UInt64?
        /// Its directory's version then (entries created in it), to tell cheaply when a file
        /// that did not exist may have been created.
        var directoryVersion: UInt64?
    }

    private let log: LogStore
    private let workflowID: String
    private let kind: Kind
    private let path: String
    private let directory: String
    private let decode: @Sendable ([LogRecord]) throws -> [Element]
    private let state: Locked<State>

    init(
        log: LogStore, workflowID: String, kind: Kind, decode: @escaping @Sendable ([LogRecord]) throws -> [Element]
    ) throws(StorageError) {
        let cursor = try kind == .history ? log.logCursor(name: workflowID) : log.inboxCursor(name: workflowID)
        self.log = log
        self.workflowID = workflowID
        self.kind = kind
        self.decode = decode
        path = cursor.path
        directory = String(cursor.path[..<(cursor.path.lastIndex(of: "/") ?? cursor.path.startIndex)])
        state = Locked(State(cursor: cursor))
    }

    func read() async throws -> StoreBatch<Element> {
        try await FileWorkflowStore.translating(workflowID) { try await readTranslated() }
    }

    private func readTranslated() async throws -> StoreBatch<Element> {
        let (log, path, directory, id) = (self.log, self.path, self.directory, workflowID)
        // Versions are read before the file, so an append in between ends the next wait at once.
        let (corruption, directoryVersion, version) = try await log.onIOThread {
            () throws(StorageError) -> (String?, UInt64?, UInt64?) in
            let watcher = log.watcher()
            return (
                log.index.entry(forWorkflowID: id)?.fields.corruption, try? watcher.version(of: directory),
                try? watcher.version(of: path)
            )
        }
        if let corruption { throw damaged(corruption) }
        var cursor = state.withLock { $0.cursor }
        let resets = cursor.resets
        var records: [LogRecord] = []
        if version != nil {
            do throws(StorageError) {
                records = try await log.readNewRecords(&cursor)
            } catch {
                guard error.code == .corrupted else { throw error }
                try await confirmDamage(error)
                // Beside a live writer: a multi-page append a lock-free read overtook. Read again later.
            }
        }
        let next = cursor
        state.withLock {
            $0.cursor = next
            $0.version = version
            $0.directoryVersion = directoryVersion
        }
        return StoreBatch(try decode(records), restarted: next.resets != resets)
    }

    /// Throws ``WorkflowStoreError/Code/damaged`` if `error` (a damaged read) is confirmed with
    /// no writer beside the reader: pages of an append land in order, but a lock-free read can
    /// see a later page before an earlier one, so only a file nobody writes is judged.
    private func confirmDamage(_ error: StorageError) async throws {
        switch kind {
        case .history:
            guard (try? await log.leaseIsHeld(name: workflowID)) == false else { return }
            var fresh = try log.logCursor(name: workflowID)
            do throws(StorageError) {
                _ = try await log.readNewRecords(&fresh)
            } catch {
                if error.code == .corrupted { throw damaged("its log is damaged (\(error.message))") }
            }
        case .inbox:
            // Confirmed under the inbox's lock, which every sender holds while it appends.
            if let damage = try await log.confirmedInboxDamage(name: workflowID) {
                throw damaged("its inbox is damaged (\(damage))")
            }
        }
    }

    private func damaged(_ reason: String) -> WorkflowStoreError {
        WorkflowStoreError(.damaged, reason, workflowID: workflowID)
    }

    func waitForAppend(timeout: Duration) async {
        guard let version = state.withLock({ $0.version }) else {
            // Nothing to watch yet. An inbox is created (empty) so the next read can watch it;
            // a log appears when its workflow is created, moments after the ID is known.
            if kind == .inbox {
                let (log, id) = (self.log, workflowID)
                _ = try? await log.onIOThread { () throws(StorageError) in try log.ensureInboxExists(name: id) }
            }
            try? await Task.sleep(for: min(timeout, .milliseconds(2)))
            return
        }
        await log.watcher().wait(for: path, after: version, until: FileWatcher.deadline(after: timeout))
    }

    func mayHaveAppends() -> Bool {
        let (seen, directorySeen) = state.withLock { ($0.version, $0.directoryVersion) }
        let watcher = log.watcher()
        if let seen {
            guard let now = watcher.watchedVersion(of: path) else { return true }
            return now != seen
        }
        // The file did not exist: it may have been created only if its directory changed.
        guard let directorySeen, let now = watcher.watchedVersion(of: directory) else { return true }
        return now != directorySeen
    }
}
