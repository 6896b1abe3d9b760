/// What `qemu-img info` reports from a qcow2 header ("Format specific information" and friends).
public struct Qcow2HeaderInfo: Sendable, Equatable {
    /// 2 or 3.
    public var version: UInt32
    /// "0.10" for version 2, "1.1" for version 3.
    public var compat: String
    public var virtualSize: UInt64
    public var clusterSize: Int
    public var refcountBits: Int
    public var lazyRefcounts: Bool
    /// The corrupt bit (incompatible bit 1).
    public var corrupt: Bool
    /// The dirty bit (incompatible bit 0): refcounts may be stale.
    public var dirty: Bool
    public var extendedL2: Bool
    public var compressionType: Qcow2CompressionType
    public var backingFile: String?
    public var backingFormat: String?
    public var snapshotCount: Int
    /// Names from the feature name table, for tools reporting features.
    public var featureNames: [String]

    init(header: Qcow2Header, snapshotCount: Int) {
        version = header.version
        compat =
            header.version >= 3
            ? Qcow2CreateOptions.Compatibility.v3.rawValue : Qcow2CreateOptions.Compatibility.v2.rawValue
        virtualSize = header.size
        clusterSize = Int(header.clusterSize)
        refcountBits = 1 << Int(header.refcountOrder)
        lazyRefcounts = header.compatibleFeatures.contains(.lazyRefcounts)
        corrupt = header.incompatibleFeatures.contains(.corrupt)
        dirty = header.incompatibleFeatures.contains(.dirty)
        extendedL2 = header.incompatibleFeatures.contains(.extendedL2)
        compressionType = header.compressionType
        backingFile = header.backingFile
        backingFormat = header.backingFormat
        self.snapshotCount = snapshotCount
        featureNames = header.featureNames.map(\.name)
    }
}
