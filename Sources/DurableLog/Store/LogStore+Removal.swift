#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DurableStorage
import Synchronization

extension LogStore {
    /// Deletes workflow `name` (its log, its inbox and its index entry) if it has ended and no
    /// live process holds it. Returns false, touching nothing, otherwise.
    ///
    /// The index forgets it first, then the files go: a crash in between leaves a log the index
    /// does not know, which the next reconciliation adopts again (and the next deletion removes).
    public func removeEndedWorkflow(name: String) async throws(StorageError) -> Bool {
        try checkWritable()
        let key = try LogKey(name: name)
        let path = layout.logPath(key)
        let inbox = layout.inboxPath(key)
        let fd = try await io.run { [self] () throws(StorageError) -> Int32? in
            guard let fd = try SystemCall.openIfExists(path, O_RDWR_FLAG) else { return nil }
            // The lease keeps anyone from writing while we look and delete.
            guard try FileLock.tryExclusive(fd, path: path),
                let contents = try? folder.contents(
                    of: LogScanner.scan(try SystemCall.readAll(fd, path: path), expectedKind: .workflowLog), key: key,
                    path: path),
                contents.name == name, contents.indexEntry.status.isTerminal
            else {
                SystemCall.close(fd)
                return nil
            }
            return fd
        }
        guard let fd else { return false }
        var removed = IndexDelta()
        removed.removed = true
        do {
            try await index.record([(key, 0, removed)])
        } catch {
            SystemCall.close(fd)
            throw error
        }
        try await io.run { () throws(StorageError) in
            defer { SystemCall.close(fd) }
            try SystemCall.unlink(path)
            if SystemCall.exists(inbox) { try SystemCall.unlink(inbox) }
        }
        inboxIDs.withLock { $0.forget(key) }
        return true
    }

    /// Folds the index log into a fresh snapshot now (after many deletions, to reclaim it).
    public func compactIndex() async throws(StorageError) {
        try checkWritable()
        try await io.run { [self] () throws(StorageError) in try index.compact(force: true) }
    }
}
