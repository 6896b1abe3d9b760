/// How compressed clusters are encoded (qcow2 spec "Additional fields", compression_type at byte 104).
public enum Qcow2CompressionType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Raw deflate with a 4 KiB window (windowBits -12), as QEMU writes it.
    case zlib = 0
    /// Zstandard frames.
    case zstd = 1

    public var description: String {
        switch self {
        case .zlib: return "zlib"
        case .zstd: return "zstd"
        }
    }
}
