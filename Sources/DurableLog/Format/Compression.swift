import CZstd

/// A trained zstd dictionary, loaded once and shared by every thread.
///
/// `ZSTD_CDict` and `ZSTD_DDict` are read-only after creation and documented by zstd as safe to
/// share between threads and contexts; nothing mutates them until `deinit`, which runs only
/// when no context can reference them. That is why the class may be `@unchecked Sendable`.
final class ZstdDictionary: @unchecked Sendable {
    let id: UInt16
    let compressionDictionary: OpaquePointer
    let decompressionDictionary: OpaquePointer

    init(id: UInt16, content: [UInt8], level: Int32) throws(StorageError) {
        self.id = id
        guard let c = content.withUnsafeBytes({ ZSTD_createCDict($0.baseAddress, $0.count, level) }),
            let d = content.withUnsafeBytes({ ZSTD_createDDict($0.baseAddress, $0.count) })
        else { throw StorageError(.compression, "zstd could not load dictionary \(id)") }
        compressionDictionary = c
        decompressionDictionary = d
    }

    deinit {
        ZSTD_freeCDict(compressionDictionary)
        ZSTD_freeDDict(decompressionDictionary)
    }
}

/// One zstd compression and decompression context. Contexts are not thread-safe; a
/// ``PayloadCodec`` hands each one to a single thread at a time through a `Mutex`.
struct ZstdContexts: ~Copyable {
    let compression: OpaquePointer
    let decompression: OpaquePointer

    init(level: Int32) {
        compression = ZSTD_createCCtx()!
        decompression = ZSTD_createDCtx()!
        // Our record CRC covers the stored bytes and our header names the dictionary.
        ZSTD_CCtx_setParameter(compression, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(compression, ZSTD_c_checksumFlag, 0)
        ZSTD_CCtx_setParameter(compression, ZSTD_c_dictIDFlag, 0)
        ZSTD_CCtx_setParameter(compression, ZSTD_c_contentSizeFlag, 1)
    }

    deinit {
        ZSTD_freeCCtx(compression)
        ZSTD_freeDCtx(decompression)
    }

    func compress(_ input: [UInt8], dictionary: ZstdDictionary?) -> [UInt8]? {
        ZSTD_CCtx_refCDict(compression, dictionary?.compressionDictionary)
        let bound = ZSTD_compressBound(input.count)
        var failed = false
        let out = [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
            let n = input.withUnsafeBytes {
                ZSTD_compress2(compression, buffer.baseAddress, bound, $0.baseAddress, $0.count)
            }
            if ZSTD_isError(n) != 0 { failed = true; count = 0 } else { count = n }
        }
        return failed ? nil : out
    }

    func decompress(_ input: ArraySlice<UInt8>, rawLength: Int, dictionary: ZstdDictionary?) -> [UInt8]? {
        var failed = false
        let out = [UInt8](unsafeUninitializedCapacity: rawLength) { buffer, count in
            let n = input.withUnsafeBytes { source in
                if let dictionary {
                    return ZSTD_decompress_usingDDict(
                        decompression, buffer.baseAddress, rawLength, source.baseAddress, source.count,
                        dictionary.decompressionDictionary)
                }
                return ZSTD_decompressDCtx(
                    decompression, buffer.baseAddress, rawLength, source.baseAddress, source.count)
            }
            if ZSTD_isError(n) != 0 || n != rawLength { failed = true; count = 0 } else { count = n }
        }
        return failed ? nil : out
    }
}

/// Trains a zstd dictionary from sample payloads.
enum DictionaryTrainer {
    static func train(samples: [[UInt8]], capacity: Int) throws(StorageError) -> [UInt8] {
        let joined = samples.flatMap { $0 }
        let sizes = samples.map { $0.count }
        var failure: String?
        let dictionary = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            let n = joined.withUnsafeBytes { source in
                ZDICT_trainFromBuffer(buffer.baseAddress, capacity, source.baseAddress, sizes, UInt32(sizes.count))
            }
            if ZDICT_isError(n) != 0 {
                failure = String(cString: ZDICT_getErrorName(n))
                count = 0
            } else {
                count = n
            }
        }
        if let failure {
            throw StorageError(.compression, "training a dictionary from \(samples.count) samples failed: \(failure)")
        }
        return dictionary
    }
}
