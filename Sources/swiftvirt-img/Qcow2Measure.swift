/// Size arithmetic for `measure` and for create's size limit, following QEMU 7.2's
/// qcow2_calc_prealloc_size and qcow2_refcount_metadata_size (qcow2 spec "Host cluster management").
enum Qcow2Measure {
    /// Bytes of the L1 table needed for `virtualSize` (QEMU refuses more than 32 MiB).
    static func l1Bytes(virtualSize: UInt64, clusterSize: UInt64, extendedL2: Bool) -> UInt64 {
        let entrySize: UInt64 = extendedL2 ? 16 : 8
        let clusters = divideRoundingUp(virtualSize, clusterSize)
        return divideRoundingUp(clusters, clusterSize / entrySize) * 8
    }

    /// The file size of a fully allocated image: header, L2 and L1 tables, refcount structures, data.
    static func fullyAllocatedSize(
        virtualSize: UInt64, clusterSize: UInt64, refcountBits: UInt64, extendedL2: Bool
    ) -> UInt64 {
        let entrySize: UInt64 = extendedL2 ? 16 : 8
        let aligned = roundUp(virtualSize, clusterSize)
        var metadata = clusterSize
        let l2Entries = roundUp(aligned / clusterSize, clusterSize / entrySize)
        metadata += l2Entries * entrySize
        let l1Entries = roundUp(l2Entries * entrySize / clusterSize, clusterSize / 8)
        metadata += l1Entries * 8
        metadata += refcountMetadataSize(
            clusters: (metadata + aligned) / clusterSize, clusterSize: clusterSize, refcountBits: refcountBits)
        return metadata + aligned
    }

    /// Refcount blocks and table clusters needed to count `clusters` clusters plus themselves (a fixed
    /// point; each round can only grow, and 64 rounds are far more than any real size needs).
    static func refcountMetadataSize(clusters: UInt64, clusterSize: UInt64, refcountBits: UInt64) -> UInt64 {
        let blocksPerTableCluster = clusterSize / 8
        let refcountsPerBlock = clusterSize * 8 / refcountBits
        var table: UInt64 = 0
        var blocks: UInt64 = 0
        var total: UInt64 = 0
        for _ in 0..<64 {
            let last = total
            blocks = divideRoundingUp(clusters + table + blocks, refcountsPerBlock)
            table = divideRoundingUp(blocks, blocksPerTableCluster)
            total = clusters + blocks + table
            if total == last { break }
        }
        return (blocks + table) * clusterSize
    }

    static func divideRoundingUp(_ value: UInt64, _ divisor: UInt64) -> UInt64 {
        value / divisor + (value % divisor == 0 ? 0 : 1)
    }

    static func roundUp(_ value: UInt64, _ alignment: UInt64) -> UInt64 {
        divideRoundingUp(value, alignment) * alignment
    }
}
