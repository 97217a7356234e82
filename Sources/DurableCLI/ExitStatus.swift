import DurableLog
import ArgumentParser
import DurableWorkflows

/// What the `durable` command's exit status says about a failure, so scripts can tell apart an
/// unknown workflow, a conflict and damaged data (ArgumentParser's 64 remains usage).
public enum ExitStatus: Int32, Sendable {
    /// Any other failure.
    case failure = 1
    /// No such workflow, queue or schedule.
    case notFound = 3
    /// The ID belongs to another workflow, a live executor holds the workflow, or a
    /// deduplication ID is taken, or an imported workflow is in the directory already.
    case conflict = 4
    /// A quarantined workflow, a corrupted file, or a damaged or cut-off archive.
    case damaged = 5
    /// An `fsync` failed: the disk can no longer make writes durable.
    case durabilityLost = 6
    /// An argument the engine refused (as ArgumentParser's usage errors).
    case usage = 64

    /// The status for an error a command threw, or nil for one ArgumentParser reports itself:
    /// its own (usage, help, an exit code) and any other error (its message, status 1).
    init?(_ error: any Error) {
        switch error {
        case let error as StorageError:
            switch error.code {
            case .notFound: self = .notFound
            case .alreadyExists, .leaseHeld: self = .conflict
            case .corrupted, .torn, .dictionaryMissing: self = .damaged
            case .durabilityLost: self = .durabilityLost
            default: self = .failure
            }
        case let error as WorkflowStoreError:
            switch error.code {
            case .notFound: self = .notFound
            case .damaged: self = .damaged
            case .ownershipLost: self = .conflict
            case .durabilityLost: self = .durabilityLost
            case .invalidArgument: self = .usage
            case .unavailable: self = .failure
            default: self = .failure
            }
        case let error as ArchiveError: self = error.code == .alreadyExists ? .conflict : .damaged
        case is ConflictingWorkflowError, is QueueDeduplicatedError: self = .conflict
        case is QuarantinedWorkflowError: self = .damaged
        case let error as WorkflowError where error.code == .notFound: self = .notFound
        case let error as WorkflowError where error.code == .alreadyExists: self = .conflict
        case let error as WorkflowError where error.code == .invalidArgument: self = .usage
        // ArgumentParser's own (usage, `durable help`, an exit code) and anything else: its
        // message, and its status (1 for a plain error).
        default: return nil
        }
    }
}
