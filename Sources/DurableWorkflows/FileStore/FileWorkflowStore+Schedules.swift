import DurableLog
import DurableStorage

/// Schedule state in the file backend: one small checksummed record per schedule, replaced
/// atomically under the schedule's lock (``LogStore/updateScheduleRecord(name:_:)``).
extension FileWorkflowStore {
    public func schedules() async throws -> [ScheduleState] {
        try await Self.translating(nil) {
            try await log.onIOThread { [log] () throws(StorageError) in try log.scheduleStates() }
        }
    }

    public func schedule(named name: String) async throws -> ScheduleState? {
        try await Self.translating(nil) {
            let record = try await log.onIOThread { [log] () throws(StorageError) in
                try log.readScheduleRecord(name: name)
            }
            switch record {
            case .missing: return nil
            case .damaged:
                throw WorkflowStoreError(.damaged, "the state record of schedule \"\(name)\" is damaged")
            case .present(let bytes):
                guard let state = try? WorkflowJSON.decode(ScheduleState.self, from: bytes) else {
                    throw WorkflowStoreError(.damaged, "the state record of schedule \"\(name)\" does not decode")
                }
                return state
            }
        }
    }

    public func updateSchedule(
        named name: String, _ update: @escaping @Sendable (ScheduleState?) -> ScheduleState?
    ) async throws {
        try await Self.translating(nil) {
            try await log.updateScheduleRecord(name: name) { record in
                var current: ScheduleState?
                if case .present(let bytes) = record {
                    current = try? WorkflowJSON.decode(ScheduleState.self, from: bytes)
                }
                return update(current).flatMap { try? WorkflowJSON.encode($0) }
            }
        }
    }
}

extension LogStore {
    /// Every schedule with a readable state record, by name, read on the calling thread (for
    /// tools on a thread of their own, and the I/O threads).
    public func scheduleStates() throws(StorageError) -> [ScheduleState] {
        try allScheduleRecords().compactMap { record in
            guard case .present(let bytes) = record else { return nil }
            return try? WorkflowJSON.decode(ScheduleState.self, from: bytes)
        }.sorted { $0.name < $1.name }
    }
}
