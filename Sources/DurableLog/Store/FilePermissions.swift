#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Who may read a data directory's files: workflow inputs, outputs and messages are in them.
///
/// The default is the owner alone (files `0600`, directories `0700`). Directories get the
/// execute bit wherever files have the read bit. The process's umask still applies, and only
/// files and directories created from now on get these modes.
public struct FilePermissions: Sendable, Equatable {
    /// The mode of files.
    public var fileMode: mode_t

    /// Files with `fileMode` (for example `0o640` to let the group read).
    public init(fileMode: mode_t) { self.fileMode = fileMode & 0o666 }

    /// Only the owner may read and write (`0600` / `0700`).
    public static let ownerOnly = FilePermissions(fileMode: 0o600)
    /// The group may read too (`0640` / `0750`).
    public static let groupReadable = FilePermissions(fileMode: 0o640)

    /// The mode of directories.
    public var directoryMode: mode_t { fileMode | ((fileMode & 0o444) >> 2) }
}
