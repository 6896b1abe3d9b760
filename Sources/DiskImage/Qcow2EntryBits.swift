/// Bit fields of L1, L2 and refcount table entries (qcow2 spec "Cluster mapping", "Host cluster
/// management").
enum Qcow2EntryBits {
    /// Bit 63: refcount is exactly one, so the cluster may be written in place.
    static let copied: UInt64 = 1 << 63
    /// Bit 62 of L2 entries: compressed cluster.
    static let compressed: UInt64 = 1 << 62
    /// Bit 0 of standard L2 entries (v3, not extended): the cluster reads as zeroes.
    static let zero: UInt64 = 1
    /// Bits 9–55: host offset in L1 and standard L2 entries.
    static let offsetMask: UInt64 = 0x00FF_FFFF_FFFF_FE00
    /// Bits 9–63: refcount block offset in refcount table entries.
    static let refcountTableOffsetMask: UInt64 = 0xFFFF_FFFF_FFFF_FE00
    /// Extended L2 bitmap: all 32 subclusters allocated (bits 0–31).
    static let allAllocated: UInt64 = 0x0000_0000_FFFF_FFFF
    /// Extended L2 bitmap: all 32 subclusters read as zeroes (bits 32–63).
    static let allZero: UInt64 = 0xFFFF_FFFF_0000_0000
}
