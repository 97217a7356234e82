#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension LogStore {
    /// Removes the temporary files that writers killed mid-write left behind (a log being
    /// created, a FORMAT, dictionary, schedule or queue file being replaced): those whose
    /// writing process no longer exists. Files of live processes are left alone. Runs on the
    /// store's I/O threads (an engine calls it at launch).
    ///
    /// - Returns: how many files were removed.
    @discardableResult
    public func sweepTemporaryFiles() async throws(StorageError) -> Int {
        try checkWritable()
        return try await io.run { [self] () throws(StorageError) -> Int in try sweepTemporaryFilesBlocking() }
    }

    private func sweepTemporaryFilesBlocking() throws(StorageError) -> Int {
        var directories = [layout.path, layout.dictionariesDirectory, layout.schedulesDirectory]
        for parent in [layout.workflowsDirectory, layout.queuesDirectory] where SystemCall.exists(parent) {
            directories += try SystemCall.listDirectory(parent).map { "\(parent)/\($0)" }
        }
        var removed = 0
        for directory in directories where SystemCall.exists(directory) {
            for name in (try? SystemCall.listDirectory(directory)) ?? [] {
                guard let pid = Self.writerOfTemporaryFile(name), kill(pid, 0) != 0, errno == ESRCH else { continue }
                if (try? SystemCall.unlink("\(directory)/\(name)")) != nil { removed += 1 }
            }
        }
        return removed
    }

    /// The process that writes a temporary file of ours named `name`, if it is one:
    /// `.<key>.<pid>.<random>.tmp`, `<file>.<pid>.<random>.tmp`, `.dict.tmp.<pid>.<random>`,
    /// `.FORMAT.<pid>.<random>`.
    static func writerOfTemporaryFile(_ name: String) -> pid_t? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        let pid: Substring
        if name.hasSuffix(".tmp"), parts.count >= 4 {
            pid = parts[parts.count - 3]
        } else if (name.hasPrefix(".dict.tmp.") || name.hasPrefix(".FORMAT.")), parts.count >= 4 {
            pid = parts[parts.count - 2]
        } else {
            return nil
        }
        guard let value = pid_t(pid), value > 0 else { return nil }
        return value
    }
}
