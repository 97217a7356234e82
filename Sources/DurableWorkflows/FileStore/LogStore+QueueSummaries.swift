import DurableLog
import DurableStorage

extension LogStore {
    /// Every queue that has workflows or a recorded configuration, with its counts.
    func queueSummaries() throws -> [QueueSummary] {
        try index.refresh()
        var configurations: [String: QueueConfiguration] = [:]
        for bytes in try recordedQueueConfigurations() {
            if let configuration = try? WorkflowJSON.decode(QueueConfiguration.self, from: bytes) {
                configurations[configuration.name] = configuration
            }
        }
        var summaries: [String: QueueSummary] = [:]
        var partitions: [String: [String?: QueueSummary.Partition]] = [:]
        for name in configurations.keys {
            summaries[name] = QueueSummary(name: name, configuration: configurations[name], partitions: [])
        }
        for entry in index.entries(where: { $0.queueName != nil }) {
            let name = entry.queueName!
            summaries[name, default: QueueSummary(name: name, configuration: nil, partitions: [])].name = name
            if entry.status.isTerminal {
                summaries[name]!.ended += 1
                continue
            }
            if entry.status == .enqueued || entry.status == .delayed,
                let known = configurations[name]?.workflowNames, let workflow = entry.name, !known.contains(workflow)
            {
                summaries[name]!.unservedWorkflows[workflow, default: 0] += 1
            }
            let key = entry.fields.partitionKey
            var partition = partitions[name, default: [:]][key] ?? QueueSummary.Partition(key: key)
            switch entry.status {
            case .enqueued: partition.enqueued += 1
            case .delayed: partition.delayed += 1
            default: partition.running += 1
            }
            partitions[name, default: [:]][key] = partition
        }
        return try summaries.values.sorted { $0.name < $1.name }.map { summary in
            var summary = summary
            var list = Array((partitions[summary.name] ?? [:]).values)
            if list.isEmpty { list = [QueueSummary.Partition(key: nil)] }
            // no partition first
            list.sort { ($0.key == nil ? 0 : 1, $0.key ?? "") < ($1.key == nil ? 0 : 1, $1.key ?? "") }
            if let limit = summary.configuration?.concurrency {
                let files = try queueFiles(named: summary.name)
                for i in list.indices {
                    list[i].busySlots = try files.busySlotCount(partition: list[i].key, limit: limit)
                }
            }
            summary.partitions = list
            return summary
        }
    }
}
