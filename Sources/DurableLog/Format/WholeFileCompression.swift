import CZstd

/// zstd compression of a whole buffer in one frame, for files written at once (workflow
/// archives), as opposed to the log's per-record ``PayloadCodec``.
public enum WholeFileCompression {
    /// `input` as one zstd frame at `level`. Equal input and level give equal bytes.
    public static func compress(_ input: [UInt8], level: Int32 = 9) throws(StorageError) -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var failure: Int?
        let out = [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
            let n = input.withUnsafeBytes { ZSTD_compress(buffer.baseAddress, bound, $0.baseAddress, $0.count, level) }
            if ZSTD_isError(n) != 0 {
                failure = n
                count = 0
            } else {
                count = n
            }
        }
        if let failure { throw StorageError(.compression, "zstd could not compress: \(errorName(failure))") }
        return out
    }

    /// The `length` bytes the zstd frame `input` holds; throws if it does not decode to exactly
    /// that many.
    public static func decompress(_ input: ArraySlice<UInt8>, length: Int) throws(StorageError) -> [UInt8] {
        // The frame says what it holds: a length it contradicts is refused before any allocation.
        let declared = input.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        guard declared == UInt64(length) else {
            throw StorageError(.compression, "the zstd frame does not hold \(length) bytes")
        }
        var failure: String?
        let out = [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
            let n = input.withUnsafeBytes { ZSTD_decompress(buffer.baseAddress, length, $0.baseAddress, $0.count) }
            if ZSTD_isError(n) != 0 {
                failure = errorName(n)
                count = 0
            } else if n != length {
                failure = "it holds \(n) bytes, not \(length)"
                count = 0
            } else {
                count = n
            }
        }
        if let failure { throw StorageError(.compression, "zstd could not decompress: \(failure)") }
        return out
    }

    private static func errorName(_ code: Int) -> String { String(cString: ZSTD_getErrorName(code)) }
}
