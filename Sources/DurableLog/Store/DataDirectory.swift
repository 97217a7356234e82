#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CDurableLinux

/// The layout of a data directory and its one-time initialisation.
///
/// ```
/// <dir>/FORMAT                  text: what this is and the format version (written once)
/// <dir>/wf/<00..ff>/<key>.wlog  one log per workflow, named by the hex key of its ID
/// <dir>/index/                  CURRENT, snap-<gen>.idx, log-<gen>.wal, append.lock
/// <dir>/dicts/<id>.zdict        immutable zstd dictionaries
/// <dir>/inbox/<key>.inbox       messages and control requests for a workflow, from any process
/// <dir>/queues/<key>/           a queue's lock, run slots, counters and bell (QueueFiles)
/// ```
struct DataDirectory: Sendable {
    let path: String
    /// The modes of the files and directories it creates.
    var permissions = FilePermissions.ownerOnly
    var fileMode: mode_t { permissions.fileMode }
    var directoryMode: mode_t { permissions.directoryMode }

    var formatFile: String { "\(path)/FORMAT" }
    var workflowsDirectory: String { "\(path)/wf" }
    var indexDirectory: String { "\(path)/index" }
    var dictionariesDirectory: String { "\(path)/dicts" }

    var inboxDirectory: String { "\(path)/inbox" }
    var queuesDirectory: String { "\(path)/queues" }
    var schedulesDirectory: String { "\(path)/schedules" }
    func shardDirectory(_ key: LogKey) -> String { "\(workflowsDirectory)/\(key.shard)" }
    func inboxPath(_ key: LogKey) -> String { "\(inboxDirectory)/\(key.hex).inbox" }
    func logPath(_ key: LogKey) -> String { "\(shardDirectory(key))/\(key.hex).wlog" }

    /// Filesystems whose locks cannot be trusted to detect a dead owner promptly.
    static let networkFilesystems: [Int64: String] = [
        0x6969: "NFS", 0xFF53_4D42: "CIFS", 0xFE53_4D42: "SMB2", 0x517B: "SMB", 0x0102_1997: "9p", 0x00C3_6400: "Ceph",
        0x0BD0_0BD0: "Lustre", 0x5346_414F: "AFS",
        0x6573_5546: "FUSE (GlusterFS, sshfs, s3fs and other network mounts use it)",
    ]

    /// Creates the layout if needed and verifies that the directory is ours and supported.
    func prepare(allowNetworkFilesystem: Bool, create: Bool, durability: Durability) throws(StorageError) {
        if !create && !SystemCall.exists(formatFile) {
            throw StorageError(
                .notFound, "there is no swift-durable data directory here (pass --dir or set DURABLE_DIR)", path: path)
        }
        if create { try makeDirectories(path) }
        let type = durable_filesystem_type(path)
        if !allowNetworkFilesystem, let fsName = Self.networkFilesystems[type] {
            throw StorageError(
                .networkFilesystem,
                "the data directory is on \(fsName); swift-durable needs a local filesystem, where a dead "
                    + "process's file locks are released at once. Use a local disk",
                path: path)
        }
        if SystemCall.exists(formatFile) {
            try verifyFormat()
            return
        }
        // Our own names without FORMAT mean an initialisation is in progress in another process
        // or was interrupted; finishing it is idempotent. Anything else is someone else's data.
        let ours: Set<String> = ["wf", "index", "dicts", "inbox", "queues", "schedules"]
        let names = try SystemCall.listDirectory(path)
        if names.contains("FORMAT") {
            try verifyFormat()  // another process finished initialising since the check above
            return
        }
        let foreign = names.filter { !ours.contains($0) && !$0.hasPrefix(".FORMAT.") }
        if !foreign.isEmpty {
            throw StorageError(
                .notADataDirectory,
                "the directory is not empty and has no FORMAT file, so it is not a swift-durable data directory; "
                    + "choose another directory", path: path)
        }
        for directory in [workflowsDirectory, indexDirectory, dictionariesDirectory, inboxDirectory] {
            try SystemCall.makeDirectory(directory, mode: directoryMode)
        }
        for shard in 0..<256 {
            let hex = String(shard, radix: 16)
            try SystemCall.makeDirectory(
                "\(workflowsDirectory)/\(hex.count == 1 ? "0" + hex : hex)", mode: directoryMode)
        }
        try durability.syncDirectory(workflowsDirectory)
        try durability.syncDirectory(path)
        let text =
            "swift-durable data directory\nformat-version: \(LogFormat.version)\ncreated-ms: \(SystemCall.nowMilliseconds())\n"
        let temporary = "\(path)/.FORMAT.\(getpid()).\(UInt64.random(in: 0...UInt64.max))"
        let fd = try SystemCall.open(temporary, O_CREATE_EXCLUSIVE_RDWR, mode: fileMode)
        defer {
            SystemCall.close(fd)
            try? SystemCall.unlink(temporary)
        }
        try SystemCall.write(fd, Array(text.utf8), at: 0, path: temporary)
        try durability.dataSync(fd, path: temporary)
        do throws(StorageError) {
            try SystemCall.link(temporary, formatFile)
        } catch  where error.code == .alreadyExists {
            // Another process initialised the directory at the same moment.
        }
        try durability.syncDirectory(path)
    }

    private func verifyFormat() throws(StorageError) {
        let fd = try SystemCall.open(formatFile, O_RDONLY_FLAG)
        defer { SystemCall.close(fd) }
        let text = String(decoding: try SystemCall.readAll(fd, path: formatFile), as: UTF8.self)
        guard text.hasPrefix("swift-durable data directory"),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("format-version: ") }),
            let version = UInt16(line.dropFirst("format-version: ".count))
        else {
            throw StorageError(
                .notADataDirectory, "the FORMAT file is not a swift-durable format file", path: formatFile)
        }
        if version > LogFormat.version {
            throw StorageError(
                .unsupportedVersion,
                "the data directory uses format version \(version); this build understands up to \(LogFormat.version). "
                    + "Upgrade swift-durable", path: formatFile)
        }
    }

    private func makeDirectories(_ path: String) throws(StorageError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            try SystemCall.makeDirectory(prefix, mode: directoryMode)
            prefix += "/"
        }
    }
}
