/// The bitmaps header extension (qcow2 spec "Bitmaps extension"): where the bitmap directory is. This
/// library does not maintain bitmaps; it only counts their clusters when checking refcounts.
struct Qcow2BitmapsExtension: Sendable, Equatable {
    static let bytes = 24

    let bitmapCount: UInt32
    let directorySize: UInt64
    let directoryOffset: UInt64

    /// Parses and validates the 24-byte extension data.
    init(data: [UInt8], clusterSize: UInt64) throws(DiskImageError) {
        guard data.count >= Self.bytes else { throw .corrupt("bitmaps header extension is \(data.count) bytes") }
        bitmapCount = data.bigEndian32(at: 0)
        directorySize = data.bigEndian64(at: 8)
        directoryOffset = data.bigEndian64(at: 16)
        guard bitmapCount >= 1, bitmapCount <= Qcow2Limits.maximumBitmaps else {
            throw .corrupt("bitmaps extension lists \(bitmapCount) bitmaps")
        }
        guard data.bigEndian32(at: 4) == 0 else { throw .corrupt("bitmaps extension reserved field is not zero") }
        guard directorySize <= Qcow2Limits.maximumBitmapDirectoryBytes else {
            throw .corrupt("bitmap directory of \(directorySize) bytes is too large")
        }
        guard directoryOffset % clusterSize == 0, directoryOffset != 0 else {
            throw .corrupt("bitmap directory offset 0x\(String(directoryOffset, radix: 16)) is not cluster aligned")
        }
    }
}
