/// virtio-blk request types (virtio 1.2 §5.2.6; linux/virtio_blk.h VIRTIO_BLK_T_*).
enum BlockRequestType: UInt32 {
    /// Read sectors into the device-writable buffers.
    case read = 0
    /// Write sectors from the device-readable buffers.
    case write = 1
    case flush = 4
    /// Return the 20-byte device ID (serial).
    case getID = 8
    case discard = 11
    case writeZeroes = 13
}

/// The status byte the device writes last (§5.2.6; VIRTIO_BLK_S_*).
enum BlockRequestStatus: UInt8 {
    case ok = 0
    case ioError = 1
    case unsupported = 2
}
