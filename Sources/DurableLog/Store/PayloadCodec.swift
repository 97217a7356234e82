import DurableStorage
import Synchronization

/// Chooses how each payload is stored and turns stored bytes back into payloads.
///
/// One zstd frame per record (never a stream across records, so every record stays
/// independently readable), level 3 by default, optionally with a trained dictionary.
/// Payloads under 64 bytes are stored raw, and a compressed form is kept only if it saves at
/// least an eighth (RocksDB's rule), so incompressible data costs nothing but the attempt.
final class PayloadCodec: Sendable {
    static let minimumCompressibleSize = 64

    let dictionaries: DictionaryStore
    private let slots: [Slot]

    private final class Slot: Sendable {
        let contexts: Locked<ZstdContexts>
        init(level: Int32) { contexts = Locked(ZstdContexts(level: level)) }
    }

    init(dictionaries: DictionaryStore, level: Int32, contextCount: Int = 4) {
        self.dictionaries = dictionaries
        slots = (0..<contextCount).map { _ in Slot(level: level) }
    }

    /// The stored form of `payload`.
    func encode(
        _ payload: [UInt8], compress: Bool, dictionaryID: UInt16
    ) throws(StorageError)
        -> (codec: LogFormat.Codec, dictionaryID: UInt16, stored: [UInt8])
    {
        guard payload.count <= LogFormat.maxPayloadSize else {
            throw StorageError(
                .payloadTooLarge,
                "a record payload may be at most \(LogFormat.maxPayloadSize) bytes, got \(payload.count)")
        }
        guard compress, payload.count >= Self.minimumCompressibleSize else { return (.raw, 0, payload) }
        let dictionary = dictionaryID == 0 ? nil : try dictionaries.dictionary(dictionaryID)
        let compressed = withContexts { $0.compress(payload, dictionary: dictionary) }
        if let compressed, compressed.count < payload.count - payload.count / 8 {
            return (dictionary == nil ? .zstd : .zstdDictionary, dictionaryID, compressed)
        }
        return (.raw, 0, payload)
    }

    /// The payload of a verified frame.
    func decode(_ frame: RecordFrame, path: String?) throws(StorageError) -> [UInt8] {
        switch LogFormat.Codec(rawValue: frame.codec) {
        case .raw:
            return Array(frame.stored)
        case .zstd, .zstdDictionary:
            let dictionary =
                frame.codec == LogFormat.Codec.zstdDictionary.rawValue
                ? try dictionaries.dictionary(frame.dictionaryID) : nil
            guard
                let payload = withContexts({
                    $0.decompress(frame.stored, rawLength: frame.rawLength, dictionary: dictionary)
                })
            else {
                throw StorageError(
                    .compression, "record \(frame.seq) at offset \(frame.offset) does not decompress", path: path)
            }
            return payload
        case nil:
            throw StorageError(.corrupted, "record \(frame.seq) has unknown codec \(frame.codec)", path: path)
        }
    }

    /// Runs `body` with a free context set, waiting for one only if all are busy. The closure
    /// may capture only `Sendable` values, as the contexts never leave their `Mutex`.
    private func withContexts<T: Sendable>(_ body: @Sendable (borrowing ZstdContexts) -> T) -> T {
        for slot in slots {
            if let result = slot.contexts.withLockIfAvailable({ body($0) }) { return result }
        }
        let index = Int(UInt64(SystemCall.monotonicNanoseconds()) % UInt64(slots.count))
        return slots[index].contexts.withLock { body($0) }
    }
}
