/// virtio-blk feature bits (virtio 1.2 §5.2.3; linux/virtio_blk.h VIRTIO_BLK_F_*), as bit masks.
public enum VirtioBlockFeature {
    /// seg_max is valid: the most data segments in one request.
    public static let segmentMaximum: UInt64 = 1 << 2
    /// The disk is read-only.
    public static let readOnly: UInt64 = 1 << 5
    /// blk_size is valid.
    public static let blockSize: UInt64 = 1 << 6
    /// VIRTIO_BLK_T_FLUSH is supported.
    public static let flush: UInt64 = 1 << 9
    /// VIRTIO_BLK_T_DISCARD is supported; max_discard_* are valid.
    public static let discard: UInt64 = 1 << 13
    /// VIRTIO_BLK_T_WRITE_ZEROES is supported; max_write_zeroes_* are valid.
    public static let writeZeroes: UInt64 = 1 << 14
}
