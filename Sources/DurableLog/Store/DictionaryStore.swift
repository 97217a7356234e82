#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DurableStorage
import Synchronization

/// Immutable zstd dictionaries in `dicts/<id>.zdict`, named by the records that use them.
///
/// A dictionary file is the dictionary's bytes followed by a 4-byte masked CRC32C. Files are
/// published with `link()` (which refuses to replace a name) and never modified or deleted
/// while a log could reference them, so a record's dictionary ID names the same bytes forever.
final class DictionaryStore: Sendable {
    let directory: String
    let level: Int32
    private let loaded = Locked<[UInt16: ZstdDictionary]>([:])

    let fileMode: mode_t

    init(directory: String, level: Int32, fileMode: mode_t) {
        self.directory = directory
        self.level = level
        self.fileMode = fileMode
    }

    func path(for id: UInt16) -> String { "\(directory)/\(id).zdict" }

    /// The dictionary with `id`, loaded from disk on first use.
    func dictionary(_ id: UInt16) throws(StorageError) -> ZstdDictionary {
        if let cached = loaded.withLock({ $0[id] }) { return cached }
        let path = path(for: id)
        let fd: Int32
        do throws(StorageError) {
            fd = try SystemCall.open(path, O_RDONLY_FLAG)
        } catch  where error.code == .notFound {
            throw StorageError(.dictionaryMissing, "compression dictionary \(id) is missing", path: path)
        }
        defer { SystemCall.close(fd) }
        let bytes = try SystemCall.readAll(fd, path: path)
        guard bytes.count > 4 else { throw StorageError(.corrupted, "dictionary file is truncated", path: path) }
        let content = Array(bytes.dropLast(4))
        var trailer = ByteReader(bytes.suffix(4))
        guard CRC32C.mask(CRC32C.checksum(content)) == trailer.u32() else {
            throw StorageError(.corrupted, "dictionary file fails its checksum", path: path)
        }
        let dictionary = try ZstdDictionary(id: id, content: content, level: level)
        return loaded.withLock { cache in
            if let existing = cache[id] { return existing }
            cache[id] = dictionary
            return dictionary
        }
    }

    /// Stores `content` under the next free ID and makes it durable. Returns the ID.
    func add(_ content: [UInt8], durability: Durability) throws(StorageError) -> UInt16 {
        var writer = ByteWriter(capacity: content.count + 4)
        writer.raw(content)
        writer.u32(CRC32C.mask(CRC32C.checksum(content)))
        let file = writer.bytes
        let existing = try SystemCall.listDirectory(directory).compactMap { name -> UInt16? in
            guard name.hasSuffix(".zdict") else { return nil }
            return UInt16(name.dropLast(6))
        }
        var id = (existing.max() ?? 0) &+ 1
        let temporary = "\(directory)/.dict.tmp.\(getpid()).\(UInt64.random(in: 0...UInt64.max))"
        let fd = try SystemCall.open(temporary, O_CREATE_EXCLUSIVE_RDWR, mode: fileMode)
        defer {
            SystemCall.close(fd)
            try? SystemCall.unlink(temporary)
        }
        try SystemCall.write(fd, file, at: 0, path: temporary)
        try durability.dataSync(fd, path: temporary)
        while true {
            guard id != 0 else { throw StorageError(.io, "no free dictionary IDs are left", path: directory) }
            do throws(StorageError) {
                try SystemCall.link(temporary, path(for: id))
                break
            } catch  where error.code == .alreadyExists {
                id &+= 1
            }
        }
        try durability.syncDirectory(directory)
        return id
    }
}
