import DurableStorage

/// Which unfinished workflows still depend on a change made with ``WorkflowContext/patched(_:)``:
/// what an operator needs to know before deleting its old path, or the call itself.
public struct PatchUsage: Sendable, Equatable, CustomStringConvertible {
    /// The patch's name, as given to `patched`.
    public var patch: String
    /// The workflow whose code holds it.
    public var workflowName: String
    /// The earliest operation position its marker was recorded at.
    public var position: Int
    /// Unfinished workflows that recorded the marker (they took the new path): while any is
    /// left, keep `patched` or ``WorkflowContext/deprecatePatch(_:)`` at that point.
    public var withMarker: [String]
    /// Unfinished workflows without the marker that already have an operation at or past its
    /// position: they went past the patch on the old path, which must stay until they end.
    public var onOldPath: [String]
    /// Unfinished workflows without the marker that have not reached its position yet (they
    /// take the new path when they do).
    public var notThereYet: [String]

    /// What the operator may do now.
    public var verdict: String {
        if !onOldPath.isEmpty {
            return "keep the old path: \(onOldPath.count) unfinished workflows went past the patch on it"
        }
        if !withMarker.isEmpty {
            return "the old path is unused: replace patched(\"\(patch)\") with deprecatePatch(\"\(patch)\")"
                + " and delete the old branch"
        }
        return "no unfinished workflow holds the marker: the patch call can be removed"
    }

    public var description: String {
        "\(patch) in \(workflowName) (operation \(position)): \(withMarker.count) with the marker, "
            + "\(onOldPath.count) on the old path, \(notThereYet.count) not there yet; \(verdict)"
    }
}

extension WorkflowReading {
    /// Every patch whose marker is recorded in an unfinished workflow or in one of the
    /// `finishedSample` most recently created finished ones, with the unfinished workflows of
    /// the same name that depend on it (`durable patches`). Reads the history of every
    /// unfinished workflow, so it costs one read per unfinished workflow.
    public func patchUsage(finishedSample: Int = 1000) async throws -> [PatchUsage] {
        let all = try await storage.list(WorkflowFilter())
        let unfinished = all.filter { !$0.status.isTerminal }
        let finished = all.filter(\.status.isTerminal).sorted { $0.createdAt > $1.createdAt }.prefix(finishedSample)
        var positions: [PatchKey: Int] = [:]
        var holders: [PatchKey: [String]] = [:]
        var reached: [String: (name: String, last: Int, markers: Set<String>)] = [:]
        for summary in unfinished + finished {
            let events: [WorkflowEvent]
            do {
                events = try await storage.history(of: summary.workflowID)
            } catch let error as WorkflowStoreError where error.code == .notFound {
                continue  // deleted since the listing
            }
            let history = WorkflowHistory(workflowID: summary.workflowID, events: events)
            var markers: Set<String> = []
            for (position, record) in history.operations where record.kind == "patch" {
                let patch = String(record.name.dropFirst("DBOS.patch-".count))
                let key = PatchKey(workflowName: summary.name, patch: patch)
                positions[key] = min(positions[key] ?? position, position)
                markers.insert(patch)
                if !summary.status.isTerminal { holders[key, default: []].append(summary.workflowID) }
            }
            if !summary.status.isTerminal {
                reached[summary.workflowID] = (summary.name, history.operations.keys.max() ?? 0, markers)
            }
        }
        return positions.keys.sorted { ($0.workflowName, $0.patch) < ($1.workflowName, $1.patch) }.map { key in
            let position = positions[key]!
            var usage = PatchUsage(
                patch: key.patch, workflowName: key.workflowName, position: position,
                withMarker: (holders[key] ?? []).sorted(), onOldPath: [], notThereYet: [])
            for (id, workflow) in reached.sorted(by: { $0.key < $1.key })
            where workflow.name == key.workflowName && !workflow.markers.contains(key.patch) {
                if workflow.last >= position { usage.onOldPath.append(id) } else { usage.notThereYet.append(id) }
            }
            return usage
        }
    }
}

/// A patch within one workflow's code.
private struct PatchKey: Hashable {
    var workflowName: String
    var patch: String
}
