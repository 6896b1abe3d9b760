/// Bounds on qcow2 metadata, mostly QEMU's implementation limits (qcow2 spec notes under "Header",
/// "Host cluster management" and "Snapshots"). An image beyond them is refused before anything is
/// allocated for it.
enum Qcow2Limits {
    /// 512-byte clusters (spec: "Must not be less than 9").
    static let minimumClusterBits = 9
    /// 2 MiB clusters (QEMU's implementation limit).
    static let maximumClusterBits = 21
    /// Extended L2 entries need clusters of at least 16 KiB.
    static let minimumExtendedL2ClusterBits = 14
    /// The active L1 table may take at most 32 MiB.
    static let maximumL1Bytes: UInt64 = 32 << 20
    /// The refcount table may take at most 8 MiB.
    static let maximumRefcountTableBytes: UInt64 = 8 << 20
    /// refcount_order may not exceed 6 (64-bit refcounts).
    static let maximumRefcountOrder = 6
    /// backing_file_size "Must not be longer than 1023 bytes".
    static let maximumBackingFileNameLength = 1023
    /// The backing format extension must fit QEMU's 16-byte buffer with its NUL.
    static let maximumBackingFormatLength = 15
    /// At most 65536 internal snapshots.
    static let maximumSnapshots = 65536
    /// Extra data per snapshot entry.
    static let maximumSnapshotExtraData = 1024
    /// The whole snapshot table (QEMU: 1 KiB per possible snapshot).
    static let maximumSnapshotTableBytes: UInt64 = 64 << 20
    /// Host offsets in L1/L2 entries have 56 bits.
    static let maximumHostOffset: UInt64 = 1 << 56
    /// Virtual sizes QEMU accepts (INT64_MAX rounded down to 512).
    static let maximumVirtualSize: UInt64 = UInt64(Int64.max) & ~511
    /// Persistent dirty bitmaps per image (QEMU).
    static let maximumBitmaps = 65535
    /// Size of the bitmap directory (QEMU's QCOW2_MAX_BITMAP_DIRECTORY_SIZE).
    static let maximumBitmapDirectoryBytes: UInt64 = 1024 * 65535
}
