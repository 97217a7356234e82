// The storage types that appear in the engine's API (statuses, index fields, the store).
@_exported import DurableLog
