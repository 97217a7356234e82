import DurableStorage
import DurableWorkflows
import FoundationEssentials

/// Which store an application uses, chosen by its environment: PostgreSQL when
/// `DURABLE_DATABASE_URL` is set, else the data directory. The application's code is the same
/// in both modes.
///
/// `DURABLE_APPLICATION_NAME` sets the `application_name` written on PostgreSQL (default
/// `swift-durable`): DBOS apps of other names never touch these workflows.
public enum StoreSelection {
    /// The environment variable naming the database.
    public static let databaseURLVariable = "DURABLE_DATABASE_URL"

    /// The store `environment` names: a ``PostgresWorkflowStore`` on `DURABLE_DATABASE_URL`, or
    /// a file store on `directory` (created if missing).
    public static func store(
        directory: String = ".durable", environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> any WorkflowStore {
        guard let url = environment[databaseURLVariable], !url.isEmpty else {
            return try FileWorkflowStore(directory: directory)
        }
        var options = PostgresWorkflowStore.Options()
        if let name = environment["DURABLE_APPLICATION_NAME"], !name.isEmpty { options.applicationName = name }
        return try PostgresWorkflowStore(url: url, options: options)
    }
}

extension DurableEngine {
    /// An engine on the store the environment names (see ``StoreSelection``): PostgreSQL at
    /// `DURABLE_DATABASE_URL`, else the data directory `directory`.
    public static func fromEnvironment(
        directory: String = ".durable", configuration: Configuration = Configuration(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> DurableEngine {
        DurableEngine(
            store: try StoreSelection.store(directory: directory, environment: environment),
            configuration: configuration)
    }
}

extension DurableClient {
    /// A client on the store the environment names (see ``StoreSelection``).
    public static func fromEnvironment(
        directory: String = ".durable", clientID: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> DurableClient {
        DurableClient(
            store: try StoreSelection.store(directory: directory, environment: environment), clientID: clientID)
    }
}
