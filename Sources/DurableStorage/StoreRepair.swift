/// How much ``WorkflowStore/repair(_:)`` looks at.
public enum RepairScope: Sendable, Equatable {
    /// Everything crashed processes may have left, before an executor starts serving.
    case launch
    /// Only workflows no live process owns, while other executors run beside this one.
    case unowned
}

/// What a ``WorkflowStore/repair(_:)`` found and did.
public struct RepairReport: Sendable, Equatable {
    /// Why the store's derived state (the file backend's index) was unusable and was rebuilt
    /// from the histories, if it was.
    public var rebuilt: String?
    /// How many workflows' status fields caught up with their histories (a process died between
    /// recording an event and the status it implies).
    public var reconciled = 0
    /// How many leftovers of interrupted writes were removed.
    public var removedLeftovers = 0

    /// An empty report.
    public init() {}
}
