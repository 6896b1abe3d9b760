/// Reference counting and cluster allocation (qcow2 spec "Host cluster management").
///
/// New clusters are always taken past the end of the file, so a cluster freed in memory can never be
/// reused before the metadata that stopped using it is durable.
extension Qcow2Image {
    /// Where a new refcount structure goes when it is written from scratch past `firstNew`: the refcount
    /// blocks covering the clusters in `used` and the structure's own clusters, then its table. The new
    /// blocks and table must describe themselves too, so the layout is iterated to a fixed point.
    /// `tableTooLarge` is the error's message when the table would pass 8 MiB. Returns the block indexes (sorted) and the table's size in
    /// clusters; the structure occupies `firstNew ..< firstNew + blocks.count + tableClusters`.
    func selfDescribingRefcountLayout(
        used: Set<UInt64>, firstNew: UInt64, blockBits: UInt64, tableTooLarge: String
    ) throws(DiskImageError) -> (blocks: [UInt64], tableClusters: UInt64) {
        let clusterBits = UInt64(geometry.clusterBits)
        var blocks: [UInt64] = []
        var tableClusters: UInt64 = 0
        for _ in 0..<32 {
            var needed = used
            let newEnd = firstNew + UInt64(blocks.count) + tableClusters
            if newEnd > firstNew {
                for block in (firstNew >> blockBits)...((newEnd - 1) >> blockBits) { needed.insert(block) }
            }
            let sorted = needed.sorted()
            let clusters = geometry.clusters(for: ((sorted.last ?? 0) + 1) * 8)
            guard clusters << clusterBits <= Qcow2Limits.maximumRefcountTableBytes else {
                throw .notSupported(tableTooLarge)
            }
            if sorted == blocks && clusters == tableClusters { break }
            blocks = sorted
            tableClusters = clusters
        }
        return (blocks, tableClusters)
    }

    /// Recursion bound when refcount blocks must describe themselves.
    private static let maximumAllocationDepth = 8
    /// Clusters past the end of the file that may be marked used (corruption) before allocation gives up.
    private static let maximumBusySkips = 4096

    private var refcountIndexMask: UInt64 { UInt64(geometry.refcountBlockEntries - 1) }

    /// The refcount of host cluster `cluster` (an index, not an offset).
    func refcount(ofCluster cluster: UInt64) throws(DiskImageError) -> UInt64 {
        let tableIndex = cluster >> UInt64(geometry.refcountBlockBits)
        guard tableIndex < UInt64(refcountTable.count) else { return 0 }
        let blockOffset = refcountTable[Int(tableIndex)] & Qcow2EntryBits.refcountTableOffsetMask
        guard blockOffset != 0 else { return 0 }
        let block = try loadRefcountBlock(blockOffset)
        return block.refcount(Int(cluster & refcountIndexMask), order: geometry.refcountOrder)
    }

    /// Adds `delta` to a cluster's refcount, creating its refcount block when needed.
    func addReference(toCluster cluster: UInt64, _ delta: Int64, depth: Int = 0) throws(DiskImageError) {
        if delta > 0 { try ensureRefcountBlock(forCluster: cluster, depth: depth) }
        let tableIndex = Int(cluster >> UInt64(geometry.refcountBlockBits))
        guard tableIndex < refcountTable.count,
            refcountTable[tableIndex] & Qcow2EntryBits.refcountTableOffsetMask != 0
        else { throw .corrupt("cluster \(cluster) is referenced but has no refcount block") }
        let block = try loadRefcountBlock(refcountTable[tableIndex] & Qcow2EntryBits.refcountTableOffsetMask)
        let index = Int(cluster & refcountIndexMask)
        let old = block.refcount(index, order: geometry.refcountOrder)
        let new: UInt64
        if delta >= 0 {
            guard geometry.maximumRefcount - old >= UInt64(delta) else {
                throw .notSupported(
                    "a refcount above \(geometry.maximumRefcount) (refcount_bits \(geometry.refcountBits))")
            }
            new = old + UInt64(delta)
        } else {
            guard old >= delta.magnitude else { throw .corrupt("refcount of cluster \(cluster) would drop below zero") }
            new = old - delta.magnitude
        }
        block.setRefcount(index, order: geometry.refcountOrder, new)
    }

    /// Sets a cluster's refcount outright (check repair); the block must exist unless `value` > 0.
    func setReference(ofCluster cluster: UInt64, to value: UInt64) throws(DiskImageError) {
        guard value <= geometry.maximumRefcount else {
            throw .notSupported("a refcount above \(geometry.maximumRefcount) (refcount_bits \(geometry.refcountBits))")
        }
        if value > 0 { try ensureRefcountBlock(forCluster: cluster, depth: 0) }
        let tableIndex = Int(cluster >> UInt64(geometry.refcountBlockBits))
        guard tableIndex < refcountTable.count,
            refcountTable[tableIndex] & Qcow2EntryBits.refcountTableOffsetMask != 0
        else { return }
        let block = try loadRefcountBlock(refcountTable[tableIndex] & Qcow2EntryBits.refcountTableOffsetMask)
        block.setRefcount(Int(cluster & refcountIndexMask), order: geometry.refcountOrder, value)
    }

    /// Takes `count` contiguous free clusters at the end of the image and gives each refcount 1.
    /// Returns the first one's byte offset.
    func allocateClusters(_ count: UInt64, depth: Int = 0) throws(DiskImageError) -> UInt64 {
        let start = try reserveClusters(count)
        for index in 0..<count { try addReference(toCluster: start + index, 1, depth: depth) }
        return start << UInt64(geometry.clusterBits)
    }

    /// Moves the allocation cursor past `count` free clusters and returns the first one's index, without
    /// touching refcounts. Clusters past the end of the file that are marked used are skipped.
    private func reserveClusters(_ count: UInt64) throws(DiskImageError) -> UInt64 {
        var start = allocationEnd >> UInt64(geometry.clusterBits)
        var skips = 0
        var index: UInt64 = 0
        while index < count {
            if try refcount(ofCluster: start + index) != 0 {
                skips += 1
                guard skips < Self.maximumBusySkips else {
                    throw .corrupt("refcounts mark many clusters past the end of the file as used")
                }
                start += index + 1
                index = 0
                continue
            }
            index += 1
        }
        let end = (start + count) << UInt64(geometry.clusterBits)
        guard end <= Qcow2Limits.maximumHostOffset else {
            throw .notSupported("an image file larger than 64 PiB")
        }
        allocationEnd = end
        return start
    }

    /// Makes sure the refcount block covering `cluster` exists, allocating it (and growing the refcount
    /// table) if not. A new block is placed at the end of the image and counts itself.
    private func ensureRefcountBlock(forCluster cluster: UInt64, depth: Int) throws(DiskImageError) {
        guard depth < Self.maximumAllocationDepth else {
            throw .corrupt("refcount block allocation does not converge")
        }
        let tableIndex = cluster >> UInt64(geometry.refcountBlockBits)
        if tableIndex >= UInt64(refcountTable.count) { try growRefcountTable(toInclude: tableIndex, depth: depth) }
        guard refcountTable[Int(tableIndex)] & Qcow2EntryBits.refcountTableOffsetMask == 0 else { return }
        let blockCluster = try reserveClusters(1)
        let blockOffset = blockCluster << UInt64(geometry.clusterBits)
        try insertNewTable(blockOffset, bytes: [UInt8](repeating: 0, count: geometry.clusterSize), inL2Cache: false)
        refcountTable[Int(tableIndex)] = blockOffset
        dirtyRefcountTableEntries.insert(Int(tableIndex))
        try addReference(toCluster: blockCluster, 1, depth: depth + 1)
    }

    /// Moves the refcount table to a larger place at the end of the image, with room for `tableIndex`
    /// and for the blocks describing the new table itself. The header switches at the next write-back.
    private func growRefcountTable(toInclude tableIndex: UInt64, depth: Int) throws(DiskImageError) {
        let entriesPerCluster = UInt64(geometry.clusterSize / 8)
        let blockBits = UInt64(geometry.refcountBlockBits)
        var clusters = max(
            UInt64(header.refcountTableClusters), (tableIndex + 1 + entriesPerCluster - 1) / entriesPerCluster)
        let firstCluster = allocationEnd >> UInt64(geometry.clusterBits)
        // Grow until the table covers the requested block and every block the new clusters need.
        for _ in 0..<64 {
            let entries = clusters * entriesPerCluster
            let lastNeeded = max(tableIndex, (firstCluster + clusters + 4) >> blockBits)
            if lastNeeded < entries { break }
            clusters = ((lastNeeded + 1) * 3 / 2 + entriesPerCluster - 1) / entriesPerCluster
        }
        guard clusters << UInt64(geometry.clusterBits) <= Qcow2Limits.maximumRefcountTableBytes else {
            throw .notSupported("a refcount table larger than 8 MiB (the image would be too large)")
        }
        let start = try reserveClusters(clusters)
        let old = (offset: header.refcountTableOffset, clusters: UInt64(header.refcountTableClusters))
        if replacedRefcountTable == nil {
            replacedRefcountTable = old
        } else {
            // The intermediate table never reached the disk.
            pendingReleases.append((old.offset, old.clusters << UInt64(geometry.clusterBits)))
        }
        refcountTable += [UInt64](repeating: 0, count: Int(clusters * entriesPerCluster) - refcountTable.count)
        header.refcountTableOffset = start << UInt64(geometry.clusterBits)
        header.refcountTableClusters = UInt32(clusters)
        for index in 0..<clusters {
            metadataClusters.insert((start + index) << UInt64(geometry.clusterBits))
            try addReference(toCluster: start + index, 1, depth: depth + 1)
        }
    }

    /// Drops one reference from every cluster overlapping [offset, offset+length); clusters reaching zero
    /// are added to `freed`.
    func releaseClusters(_ offset: UInt64, _ length: UInt64, freed: inout [UInt64]) throws(DiskImageError) {
        guard length > 0 else { return }
        let first = offset >> UInt64(geometry.clusterBits)
        let last = (offset + length - 1) >> UInt64(geometry.clusterBits)
        for cluster in first...last {
            try addReference(toCluster: cluster, -1)
            if try refcount(ofCluster: cluster) == 0 {
                let clusterOffset = cluster << UInt64(geometry.clusterBits)
                freed.append(clusterOffset)
                metadataClusters.remove(clusterOffset)
                if compressedTail >> UInt64(geometry.clusterBits) == cluster { compressedTail = 0 }
            }
        }
    }

    /// Queues a reference drop for after the next metadata write-back.
    func scheduleRelease(_ offset: UInt64, _ length: UInt64) {
        pendingReleases.append((offset, length))
    }

    /// Queues the reference an L2 entry holds (a host cluster or compressed bytes), if any.
    func scheduleRelease(of type: Qcow2ClusterType) {
        switch type {
        case .compressed(let compressed):
            let range = compressed.referencedRange
            scheduleRelease(range.start, range.length)
            decompressedCache = nil
        default:
            if let host = type.hostCluster { scheduleRelease(host, geometry.clusterBytes) }
        }
    }
}
