/// Metadata I/O: loading tables through the caches, and writing them back in dependency order.
///
/// Order on disk (each arrow a barrier, i.e. an fdatasync when anything was written since the last):
/// guest data and refcount blocks → refcount table entries (or a relocated table, then the header) →
/// L2 tables → L1 entries → reference drops. So a crash leaves at most leaked clusters, never an entry
/// pointing at unwritten data or at a cluster whose refcount says free.
extension Qcow2Image {
    // MARK: File writes

    /// Writes and remembers that a barrier is due before anything depending on it.
    func writeFile(at offset: UInt64, from buffer: UnsafeRawBufferPointer) throws(DiskImageError) {
        guard buffer.count > 0 else { return }
        writeObserver?(.write(offset: offset, bytes: Array(buffer)))
        try file.write(at: offset, from: buffer)
        unsyncedWrites = true
        fileLength = max(fileLength, offset + UInt64(buffer.count))
    }

    func writeFile(at offset: UInt64, bytes: [UInt8]) throws(DiskImageError) {
        try bytes.withBytes { (buffer) throws(DiskImageError) in try writeFile(at: offset, from: buffer) }
    }

    /// fdatasync if anything was written since the last one.
    func barrier() throws(DiskImageError) {
        guard unsyncedWrites else { return }
        writeObserver?(.barrier)
        if synchronizesWrites { try file.synchronize() }
        unsyncedWrites = false
    }

    /// Sets or clears an incompatible feature bit in memory and on disk (header bytes 72–79), durably.
    func setIncompatibleFeature(_ feature: Qcow2IncompatibleFeatures, _ enabled: Bool) throws(DiskImageError) {
        guard header.version >= 3 else { return }
        if enabled { header.incompatibleFeatures.insert(feature) } else { header.incompatibleFeatures.remove(feature) }
        var field = [UInt8](repeating: 0, count: 8)
        field.storeBigEndian64(header.incompatibleFeatures.rawValue, at: 0)
        try writeFile(at: UInt64(Qcow2Header.Field.incompatibleFeatures), bytes: field)
        try barrier()
    }

    // MARK: Loading

    /// Refuses a metadata table offset that is unaligned, inside the header, past the end of the file, or
    /// overlapping the L1 or refcount table.
    func checkTableOffset(_ offset: UInt64, _ what: String) throws(DiskImageError) {
        let hex = "0x" + String(offset, radix: 16)
        guard offset & geometry.clusterMask == 0 else { throw .corrupt("\(what) offset \(hex) is not cluster aligned") }
        guard offset >= geometry.clusterBytes else { throw .corrupt("\(what) offset \(hex) overlaps the header") }
        guard offset <= fileLength, geometry.clusterBytes <= fileLength - offset else {
            throw .corrupt("\(what) at \(hex) lies past the end of the file")
        }
        let l1End = header.l1TableOffset + UInt64(l1.count) * 8
        if l1.count > 0 && offset < l1End && offset + geometry.clusterBytes > header.l1TableOffset {
            throw .corrupt("\(what) at \(hex) overlaps the L1 table")
        }
        let tableBytes = UInt64(header.refcountTableClusters) << UInt64(geometry.clusterBits)
        if offset < header.refcountTableOffset + tableBytes
            && offset + geometry.clusterBytes > header.refcountTableOffset
        {
            throw .corrupt("\(what) at \(hex) overlaps the refcount table")
        }
    }

    /// The L2 table at `offset`, from the cache or the file.
    func loadL2Table(_ offset: UInt64) throws(DiskImageError) -> Qcow2MetadataTable {
        if let table = l2Cache.lookup(offset) { return table }
        try checkTableOffset(offset, "L2 table")
        let bytes = try file.readBytes(at: offset, count: geometry.clusterSize)
        let table = Qcow2MetadataTable(offset: offset, bytes: bytes)
        try makeRoom(inL2Cache: true)
        l2Cache.insert(table)
        return table
    }

    /// The refcount block at `offset`, from the cache or the file.
    func loadRefcountBlock(_ offset: UInt64) throws(DiskImageError) -> Qcow2MetadataTable {
        if let table = refcountCache.lookup(offset) { return table }
        try checkTableOffset(offset, "refcount block")
        let bytes = try file.readBytes(at: offset, count: geometry.clusterSize)
        let table = Qcow2MetadataTable(offset: offset, bytes: bytes)
        try makeRoom(inL2Cache: false)
        refcountCache.insert(table)
        return table
    }

    /// Caches a freshly allocated table (dirty: it exists only in memory until written back).
    func insertNewTable(_ offset: UInt64, bytes: [UInt8], inL2Cache: Bool) throws(DiskImageError) {
        try makeRoom(inL2Cache: inL2Cache)
        let table = Qcow2MetadataTable(offset: offset, bytes: bytes)
        table.isDirty = true
        (inL2Cache ? l2Cache : refcountCache).insert(table)
        metadataClusters.insert(offset)
    }

    /// Evicts least recently used tables until one more fits. A dirty victim makes every dirty table of
    /// its cache go out at once (one barrier per batch, not per table); L2 tables only after the
    /// refcounts they depend on are durable.
    private func makeRoom(inL2Cache: Bool) throws(DiskImageError) {
        let cache = inL2Cache ? l2Cache : refcountCache
        while cache.isFull, let victim = cache.leastRecentlyUsed() {
            if victim.isDirty {
                if inL2Cache {
                    try writeBackRefcounts()
                    try barrier()
                }
                for table in cache.dirtyTables { try writeTable(table) }
            }
            cache.remove(victim.offset)
        }
    }

    private func writeTable(_ table: Qcow2MetadataTable) throws(DiskImageError) {
        try writeFile(at: table.offset, bytes: table.bytes)
        table.isDirty = false
    }

    // MARK: Write-back

    /// Writes dirty refcount blocks, then (after a barrier) the refcount table changes; a relocated table
    /// is written whole and the header switched to it before the old one is released.
    func writeBackRefcounts() throws(DiskImageError) {
        for table in refcountCache.dirtyTables { try writeTable(table) }
        let tableOffset = header.refcountTableOffset
        if let replaced = replacedRefcountTable {
            try barrier()
            var bytes = [UInt8](repeating: 0, count: refcountTable.count * 8)
            for (index, entry) in refcountTable.enumerated() { bytes.storeBigEndian64(entry, at: index * 8) }
            try writeFile(at: tableOffset, bytes: bytes)
            try barrier()
            var field = [UInt8](repeating: 0, count: 12)
            field.storeBigEndian64(tableOffset, at: 0)
            field.storeBigEndian32(header.refcountTableClusters, at: 8)
            try writeFile(at: UInt64(Qcow2Header.Field.refcountTableOffset), bytes: field)
            try barrier()
            replacedRefcountTable = nil
            dirtyRefcountTableEntries.removeAll()
            pendingReleases.append((replaced.offset, replaced.clusters << UInt64(geometry.clusterBits)))
        } else if !dirtyRefcountTableEntries.isEmpty {
            try barrier()
            try writeEntryRuns(dirtyRefcountTableEntries, of: refcountTable, at: tableOffset)
            dirtyRefcountTableEntries.removeAll()
        }
    }

    /// Writes all dirty metadata in dependency order, then applies pending reference drops.
    func writeBackMetadata() throws(DiskImageError) {
        try writeBackRefcounts()
        if l2Cache.hasDirtyTables {
            try barrier()
            for table in l2Cache.dirtyTables { try writeTable(table) }
        }
        if !dirtyL1Entries.isEmpty {
            try barrier()
            try writeEntryRuns(dirtyL1Entries, of: l1, at: header.l1TableOffset)
            dirtyL1Entries.removeAll()
        }
        // Releasing can relocate nothing, but a relocated refcount table queues the old one: bounded rounds.
        var rounds = 0
        while !pendingReleases.isEmpty && rounds < 4 {
            rounds += 1
            try barrier()
            let releases = pendingReleases
            pendingReleases.removeAll()
            var freed: [UInt64] = []
            for release in releases { try releaseClusters(release.offset, release.length, freed: &freed) }
            try writeBackRefcounts()
            for cluster in freed { file.punchHole(offset: cluster, length: geometry.clusterBytes) }
        }
    }

    /// Writes the entries at `indices` of a 64-bit table stored at `base`, coalescing adjacent ones.
    private func writeEntryRuns(_ indices: Set<Int>, of table: [UInt64], at base: UInt64) throws(DiskImageError) {
        let sorted = indices.sorted()
        var start = 0
        while start < sorted.count {
            var end = start
            while end + 1 < sorted.count && sorted[end + 1] == sorted[end] + 1 { end += 1 }
            var bytes = [UInt8](repeating: 0, count: (end - start + 1) * 8)
            for position in start...end {
                let index = sorted[position]
                if index < table.count { bytes.storeBigEndian64(table[index], at: (position - start) * 8) }
            }
            try writeFile(at: base + UInt64(sorted[start]) * 8, bytes: bytes)
            start = end + 1
        }
    }
}
