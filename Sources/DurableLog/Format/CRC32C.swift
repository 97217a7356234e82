import CDurableLinux

/// CRC32C (Castagnoli), hardware-accelerated where the CPU allows, and its LevelDB-style mask.
enum CRC32C {
    /// CRC32C of `bytes`, continuing from `crc`.
    static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        durable_crc32c(crc, bytes.baseAddress, bytes.count)
    }

    static func checksum(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, continuing: crc) }
    }

    static func checksum(_ bytes: ArraySlice<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, continuing: crc) }
    }

    /// Masks a CRC so that the CRC of data that itself embeds CRCs is not degenerate.
    static func mask(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
