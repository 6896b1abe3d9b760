/// Sizes derived from cluster_bits, refcount_order and the extended-L2 bit (qcow2 spec "Cluster mapping",
/// "Host cluster management", "Extended L2 Entries", "Compressed Clusters Descriptor").
struct Qcow2Geometry: Sendable, Equatable {
    let clusterBits: Int
    let refcountOrder: Int
    let extendedL2: Bool

    init(clusterBits: Int, refcountOrder: Int, extendedL2: Bool) {
        self.clusterBits = clusterBits
        self.refcountOrder = refcountOrder
        self.extendedL2 = extendedL2
    }

    var clusterSize: Int { 1 << clusterBits }
    var clusterBytes: UInt64 { 1 << UInt64(clusterBits) }
    var clusterMask: UInt64 { clusterBytes - 1 }

    /// Bytes per L2 entry: 8, or 16 with extended L2 entries.
    var l2EntryBytes: Int { extendedL2 ? 16 : 8 }
    /// log2 of the entries per L2 table.
    var l2Bits: Int { clusterBits - (extendedL2 ? 4 : 3) }
    var l2Entries: Int { 1 << l2Bits }
    /// Guest bytes one L2 table maps.
    var l2Coverage: UInt64 { clusterBytes << UInt64(l2Bits) }
    /// Shift from a guest offset to its L1 index.
    var l1Shift: Int { clusterBits + l2Bits }

    /// 32 subclusters with extended L2 entries, else the cluster is the only unit.
    var subclustersPerCluster: Int { extendedL2 ? 32 : 1 }
    var subclusterBits: Int { extendedL2 ? clusterBits - 5 : clusterBits }
    var subclusterBytes: UInt64 { 1 << UInt64(subclusterBits) }

    var refcountBits: Int { 1 << refcountOrder }
    /// log2 of the entries per refcount block.
    var refcountBlockBits: Int { clusterBits + 3 - refcountOrder }
    var refcountBlockEntries: Int { 1 << refcountBlockBits }
    /// Largest refcount an entry can hold.
    var maximumRefcount: UInt64 { refcountOrder == 6 ? UInt64.max : (1 << UInt64(refcountBits)) - 1 }

    /// Compressed descriptors: bits [0, csizeShift) hold the host offset, then the extra sector count.
    var compressedSizeShift: Int { 62 - (clusterBits - 8) }
    var compressedSizeMask: UInt64 { (1 << UInt64(clusterBits - 8)) - 1 }
    var compressedOffsetMask: UInt64 { (1 << UInt64(compressedSizeShift)) - 1 }

    func l1Index(_ guestOffset: UInt64) -> UInt64 { guestOffset >> UInt64(l1Shift) }
    func l2Index(_ guestOffset: UInt64) -> Int { Int((guestOffset >> UInt64(clusterBits)) & UInt64(l2Entries - 1)) }
    func subclusterIndex(_ guestOffset: UInt64) -> Int {
        Int((guestOffset & clusterMask) >> UInt64(subclusterBits))
    }

    /// L1 entries needed to map `virtualSize` bytes.
    func l1Entries(for virtualSize: UInt64) -> UInt64 {
        let clusters = virtualSize >> UInt64(clusterBits) + (virtualSize & clusterMask == 0 ? 0 : 1)
        let perTable = UInt64(l2Entries)
        return clusters / perTable + (clusters % perTable == 0 ? 0 : 1)
    }

    /// Clusters needed for `bytes` bytes.
    func clusters(for bytes: UInt64) -> UInt64 {
        bytes >> UInt64(clusterBits) + (bytes & clusterMask == 0 ? 0 : 1)
    }

    /// `value` rounded up to a cluster boundary, nil on overflow.
    func roundUp(_ value: UInt64) -> UInt64? {
        let (sum, overflow) = value.addingReportingOverflow(clusterMask)
        return overflow ? nil : sum & ~clusterMask
    }
}
