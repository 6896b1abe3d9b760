/// What a virtio-blk request may ask of the disk: its size and the limits the device advertised in its
/// configuration, plus which optional request types the driver negotiated.
struct BlockRequestLimits: Sendable {
    /// Disk size in 512-byte sectors.
    var capacity: UInt64
    var maximumDiscardSectors: UInt32
    var maximumDiscardSegments: UInt32
    var maximumWriteZeroesSectors: UInt32
    var maximumWriteZeroesSegments: UInt32
    /// The device ID GET_ID returns: exactly 20 bytes, NUL-padded (§5.2.6).
    var serial: [UInt8]
    /// VIRTIO_BLK_F_DISCARD was negotiated.
    var discardEnabled: Bool = false
    /// VIRTIO_BLK_F_WRITE_ZEROES was negotiated.
    var writeZeroesEnabled: Bool = false
}
