/// The result of a consistency check, with the fields `qemu-img check --output=json` prints.
public struct Qcow2CheckReport: Sendable, Equatable {
    /// Metadata errors left unrepaired (a refcount too low, broken tables, wrong copied flags).
    public var corruptions = 0
    /// Clusters whose refcount is higher than their references (harmless, reclaimable).
    public var leaks = 0
    /// Problems that kept the check from completing (I/O errors, an image too large to check).
    public var checkErrors = 0
    public var corruptionsFixed = 0
    public var leaksFixed = 0
    /// End of the last cluster in use, in bytes.
    public var imageEndOffset: UInt64 = 0
    /// Guest clusters with data in this image (allocated, zero-with-host or compressed).
    public var allocatedClusters: UInt64 = 0
    /// Guest clusters of the virtual disk.
    public var totalClusters: UInt64 = 0
    /// Allocated clusters not following their predecessor on the host.
    public var fragmentedClusters: UInt64 = 0
    public var compressedClusters: UInt64 = 0
    /// One line per finding, worded like QEMU's.
    public var messages: [String] = []

    /// No corruptions, leaks or errors remain (qemu-img check would exit 0).
    public var isClean: Bool { corruptions == 0 && leaks == 0 && checkErrors == 0 }

    public init() {}
}
