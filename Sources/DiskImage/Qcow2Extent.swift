/// A run of the virtual disk with one mapping, found by walking an L2 table (at most one L2 table's
/// coverage, and exactly one cluster when compressed).
struct Qcow2Extent: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        /// Stored at `host` (the host offset of the run's first byte).
        case data(host: UInt64)
        /// Reads as zeroes (zero cluster or subclusters).
        case zero
        /// Not in this image: the backing file or zeroes.
        case unallocated
        /// Inside one compressed cluster.
        case compressed(Qcow2CompressedCluster)
    }

    var kind: Kind
    var length: UInt64
    /// For zero and unallocated runs whose (sub)clusters keep host space: the host offset of the run's
    /// first byte.
    var reservedHost: UInt64? = nil
}
