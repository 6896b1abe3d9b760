import DiskImage

/// One extent of a backing chain the way QEMU's block layer describes it (BDRV_BLOCK_* flags), built
/// from the library's `BlockStatus`: what `map`, `compare` and `convert` decide on.
struct ChainStatus: Equatable {
    var start: UInt64
    var length: UInt64
    /// Reads from stored data (BDRV_BLOCK_DATA).
    var data: Bool
    /// Known to read as zeroes (BDRV_BLOCK_ZERO); also set where no layer maps the range.
    var zero: Bool
    /// Some layer of the chain maps the range (BDRV_BLOCK_ALLOCATED).
    var present: Bool
    /// Layer providing the range: 0 is the image itself.
    var depth: Int
    /// Host offset of the data in the file at `depth` (BDRV_BLOCK_OFFSET_VALID).
    var offset: UInt64?
    var compressed: Bool
    /// The extent reaches the end of the image (BDRV_BLOCK_EOF; `compare -s` compares it too).
    var endsAtEOF = false

    /// The status of the chain at `offset`, at most `length` bytes.
    static func query(_ image: any DiskImage, at offset: UInt64, length: UInt64) throws(DiskImageError) -> ChainStatus {
        var result = try convert(image.blockStatus(at: offset, length: length), at: offset)
        result.endsAtEOF = offset + result.length == image.virtualSize
        return result
    }

    private static func convert(_ status: BlockStatus, at offset: UInt64) -> ChainStatus {
        switch status.kind {
        case .data:
            return ChainStatus(
                start: offset, length: status.length, data: true, zero: false, present: true, depth: status.depth,
                offset: status.isCompressed ? nil : status.hostOffset, compressed: status.isCompressed)
        case .zero:
            return ChainStatus(
                start: offset, length: status.length, data: false, zero: true, present: true, depth: status.depth,
                offset: status.hostOffset, compressed: false)
        case .unallocated:
            return ChainStatus(
                start: offset, length: status.length, data: false, zero: true, present: false, depth: status.depth,
                offset: status.hostOffset, compressed: false)
        }
    }

    /// The file names of the chain from the top (what `map` prints in its File column).
    static func fileNames(_ image: any DiskImage) -> [String] {
        var names: [String] = []
        var current: (any DiskImage)? = image
        while let layer = current, names.count < 64 {
            switch layer {
            case let qcow2 as Qcow2Image:
                names.append(qcow2.path)
                current = qcow2.backingImage
            case let raw as RawImage:
                names.append(raw.path)
                current = nil
            default:
                current = nil
            }
        }
        return names
    }
}
