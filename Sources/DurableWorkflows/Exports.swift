// The vocabulary the engine's API speaks (statuses, fields, errors, workflow events).
@_exported import DurableStorage
// The file storage engine, until the storage seam removes it from the engine's API.
@_exported import DurableLog
