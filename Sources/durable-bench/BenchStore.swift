import DurableLog
import DurablePostgres
import DurableStorage
import DurableWorkflows
import FoundationEssentials

/// Where a workload keeps its workflows: a data directory, or (with `--database-url`) a fresh
/// schema of its own in a DBOS-compatible PostgreSQL.
enum BenchStore {
    /// The store at `location`: a `postgresql://` URL, or a directory (zstd-compressed logs, as shipped).
    static func open(_ location: String) throws -> any WorkflowStore {
        if location.hasPrefix("postgresql://") { return try PostgresWorkflowStore(url: location) }
        var options = LogStore.Options()
        options.compress = true
        return try FileWorkflowStore(directory: location, options: options)
    }

    /// Workload `name`'s location: `root/name`, or a schema named for it and this run in `database`.
    static func location(_ name: String, root: String, database: String?) -> String {
        guard let database else { return root + "/" + name }
        let schema = "bench_" + name.replacing("-", with: "_") + "_\(nowNanos() / 1_000_000)"
        return database + (database.contains("?") ? "&" : "?") + "schema=" + schema
    }
}
