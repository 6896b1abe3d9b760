/// The virtio-blk device configuration layout (virtio 1.2 §5.2.4, struct virtio_blk_config), up to
/// the write-zeroes fields; little-endian, packed.
struct VirtioBlockConfig {
    /// Disk size in 512-byte sectors.
    var capacity: UInt64
    /// Most data segments per request (VIRTIO_BLK_F_SEG_MAX).
    var segmentMaximum: UInt32
    /// Logical block size (VIRTIO_BLK_F_BLK_SIZE).
    var blockSize: UInt32 = 512
    /// Topology: physical block = logical << exponent; minimum / optimal I/O in logical blocks.
    var physicalBlockExponent: UInt8 = 0
    var alignmentOffset: UInt8 = 0
    var minimumIOSize: UInt16 = 1
    var optimalIOSize: UInt32 = 0
    var maximumDiscardSectors: UInt32
    var maximumDiscardSegments: UInt32
    var discardSectorAlignment: UInt32 = 1
    var maximumWriteZeroesSectors: UInt32
    var maximumWriteZeroesSegments: UInt32

    /// Byte size of the fields encoded: capacity (0) through write_zeroes_may_unmap and padding (60).
    static let encodedSize = 60

    /// The bytes the driver reads from configuration space.
    func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.encodedSize)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            for index in 0..<MemoryLayout<T>.size {
                bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index))
            }
        }
        put(capacity, at: 0)
        put(UInt32(0), at: 8)  // size_max: not offered (VIRTIO_BLK_F_SIZE_MAX)
        put(segmentMaximum, at: 12)
        // 16: geometry, not offered (VIRTIO_BLK_F_GEOMETRY).
        put(blockSize, at: 20)
        put(physicalBlockExponent, at: 24)
        put(alignmentOffset, at: 25)
        put(minimumIOSize, at: 26)
        put(optimalIOSize, at: 28)
        // 32: wce, 33: unused, 34: num_queues (no VIRTIO_BLK_F_MQ).
        put(maximumDiscardSectors, at: 36)
        put(maximumDiscardSegments, at: 40)
        put(discardSectorAlignment, at: 44)
        put(maximumWriteZeroesSectors, at: 48)
        put(maximumWriteZeroesSegments, at: 52)
        // 56: write_zeroes_may_unmap = 0, 57–59 unused.
        return bytes
    }
}
