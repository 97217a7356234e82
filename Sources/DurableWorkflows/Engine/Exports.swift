// The vocabulary the engine's API speaks (statuses, fields, errors, workflow events, the
// storage protocol). The file storage engine underneath, DurableLog, is not re-exported: only
// code that tunes or maintains the file backend imports it.
@_exported import DurableStorage
