#if canImport(Glibc)
    import Glibc
#endif

/// Internal snapshots (qcow2 spec "Snapshots"): a snapshot is a copy of the active L1 table whose tree
/// holds one more reference on every cluster it reaches; writes then copy shared clusters first.
///
/// Crash safety: references are added and made durable before a snapshot table that needs them goes
/// live, and dropped only after the table (or L1) no longer using them is durable. A crash can leak
/// clusters, never leave a refcount too low.
extension Qcow2Image {
    /// Takes a disk-only snapshot of the active layer (`qemu-img snapshot -c`). Names are unique here
    /// (QEMU only keeps IDs unique); an empty name is allowed, as in QEMU.
    @discardableResult
    public func createSnapshot(name: String) throws(DiskImageError) -> Qcow2SnapshotInfo {
        try lock.withLock { () throws(DiskImageError) in
            try checkWritable()
            guard name.utf8.count <= Int(UInt16.max) else {
                throw .invalidArgument("a snapshot name must be at most 65535 bytes")
            }
            guard !snapshots.contains(where: { $0.name == name }) else {
                throw .invalidArgument("a snapshot named '\(name)' already exists")
            }
            guard snapshots.count < Qcow2Limits.maximumSnapshots else {
                throw .notSupported("more than 65536 snapshots")
            }
            try writeBackMetadata()

            // The copy of the active L1 table (entries as they are; copied flags matter only when active).
            let l1Bytes = UInt64(l1.count) * 8
            var l1Offset: UInt64 = 0
            if !l1.isEmpty {
                l1Offset = try allocateClusters(geometry.clusters(for: l1Bytes))
                var bytes = [UInt8](repeating: 0, count: Int(l1Bytes))
                for (index, entry) in l1.enumerated() {
                    bytes.storeBigEndian64(entry & ~Qcow2EntryBits.copied, at: index * 8)
                }
                try writeFile(at: l1Offset, bytes: bytes)
                insertMetadataRange(l1Offset, l1Bytes)
            }
            try addTreeReferences(l1, 1)
            try refreshCopiedFlags()
            try writeBackMetadata()
            try barrier()

            var time = timespec()
            clock_gettime(CLOCK_REALTIME, &time)
            let nextID = (snapshots.compactMap { UInt64($0.id) }.max() ?? 0) + 1
            var extra = [UInt8](repeating: 0, count: 24)
            extra.storeBigEndian64(header.size, at: 8)
            let snapshot = Qcow2Snapshot(
                l1TableOffset: l1Offset, l1Size: UInt32(l1.count), id: String(nextID), name: name,
                dateSeconds: UInt32(truncatingIfNeeded: time.tv_sec),
                dateNanoseconds: UInt32(truncatingIfNeeded: time.tv_nsec),
                vmClockNanoseconds: 0, vmStateSize: 0, diskSize: header.size, extraData: extra)
            try writeSnapshotTable(snapshots + [snapshot])
            try writeBackMetadata()
            try barrier()
            return Self.info(snapshot)
        }
    }

    /// Makes a snapshot's contents the active layer again (`qemu-img snapshot -a`), by ID or name. The
    /// disk takes the size recorded with the snapshot, as in QEMU.
    public func applySnapshot(_ idOrName: String) throws(DiskImageError) {
        try lock.withLock { () throws(DiskImageError) in
            try checkWritable()
            let snapshot = try findSnapshot(idOrName)
            if let diskSize = snapshot.diskSize {
                guard diskSize % 512 == 0, diskSize <= Qcow2Limits.maximumVirtualSize,
                    geometry.l1Entries(for: diskSize) <= UInt64(max(snapshot.l1Size, UInt32(l1.count)))
                else { throw .corrupt("snapshot '\(snapshot.name)' records an impossible disk size \(diskSize)") }
            }
            try prepareForChange()
            try writeBackMetadata()
            let bytes = try file.readBytes(at: snapshot.l1TableOffset, count: Int(snapshot.l1Size) * 8)
            let snapshotL1 = stride(from: 0, to: bytes.count, by: 8).map { bytes.bigEndian64(at: $0) }
            // References for the tree that becomes active, durable before it replaces the current one.
            try addTreeReferences(snapshotL1, 1)
            try writeBackMetadata()
            try barrier()
            if snapshotL1.count > l1.count { try growL1Table(to: snapshotL1.count) }
            let oldL1 = l1
            // Shared now: no copied flags until refreshCopiedFlags finds a table that is ours alone.
            var newL1 = snapshotL1.map { $0 & ~Qcow2EntryBits.copied }
            newL1 += [UInt64](repeating: 0, count: l1.count - snapshotL1.count)
            var table = [UInt8](repeating: 0, count: newL1.count * 8)
            for (index, entry) in newL1.enumerated() { table.storeBigEndian64(entry, at: index * 8) }
            try writeFile(at: header.l1TableOffset, bytes: table)
            try barrier()
            l1 = newL1
            newL1.removeAll()
            dirtyL1Entries.removeAll()
            decompressedCache = nil
            // The tree that was active loses its references now that nothing on disk uses them.
            var freed: [UInt64] = []
            try releaseTree(oldL1, freed: &freed)
            try refreshCopiedFlags()
            try writeBackMetadata()
            try barrier()
            for cluster in freed { file.punchHole(offset: cluster, length: geometry.clusterBytes) }
            rebuildMetadataClusters()
            // Everything the snapshot's L1 table maps lies inside its size: recording it is enough.
            if let diskSize = snapshot.diskSize, diskSize != header.size { try writeSizeField(diskSize) }
        }
    }

    /// Deletes a snapshot (`qemu-img snapshot -d`), by ID or name, and frees what only it used.
    public func deleteSnapshot(_ idOrName: String) throws(DiskImageError) {
        try lock.withLock { () throws(DiskImageError) in
            try checkWritable()
            let snapshot = try findSnapshot(idOrName)
            try prepareForChange()
            try writeBackMetadata()
            let bytes = try file.readBytes(at: snapshot.l1TableOffset, count: Int(snapshot.l1Size) * 8)
            let snapshotL1 = stride(from: 0, to: bytes.count, by: 8).map { bytes.bigEndian64(at: $0) }
            try writeSnapshotTable(snapshots.filter { $0 != snapshot })
            try writeBackMetadata()
            try barrier()
            var freed: [UInt64] = []
            try releaseTree(snapshotL1, freed: &freed)
            if snapshot.l1Size > 0 {
                try releaseClusters(snapshot.l1TableOffset, UInt64(snapshot.l1Size) * 8, freed: &freed)
            }
            try refreshCopiedFlags()
            try writeBackMetadata()
            try barrier()
            for cluster in freed { file.punchHole(offset: cluster, length: geometry.clusterBytes) }
            rebuildMetadataClusters()
        }
    }

    private static func info(_ snapshot: Qcow2Snapshot) -> Qcow2SnapshotInfo {
        Qcow2SnapshotInfo(
            id: snapshot.id, name: snapshot.name, dateSeconds: snapshot.dateSeconds,
            dateNanoseconds: snapshot.dateNanoseconds, vmClockNanoseconds: snapshot.vmClockNanoseconds,
            vmStateSize: snapshot.vmStateSize, diskSize: snapshot.diskSize,
            instructionCount: snapshot.instructionCount)
    }

    /// By ID first, then by name, as QEMU looks snapshots up.
    private func findSnapshot(_ idOrName: String) throws(DiskImageError) -> Qcow2Snapshot {
        if let match = snapshots.first(where: { $0.id == idOrName }) ?? snapshots.first(where: { $0.name == idOrName })
        {
            return match
        }
        throw .invalidArgument("no snapshot with ID or name '\(idOrName)'")
    }

    /// Adds `delta` references to every L2 table of `entries` and every cluster those tables map.
    private func addTreeReferences(_ entries: [UInt64], _ delta: Int64) throws(DiskImageError) {
        for entry in entries {
            let l2Offset = entry & Qcow2EntryBits.offsetMask
            guard l2Offset != 0 else { continue }
            let clusters = try clustersMapped(byL2Table: l2Offset)
            for cluster in clusters { try addReference(toCluster: cluster, delta) }
            try addReference(toCluster: l2Offset >> UInt64(geometry.clusterBits), delta)
        }
    }

    /// Drops the references a tree holds; clusters reaching zero go into `freed`.
    private func releaseTree(_ entries: [UInt64], freed: inout [UInt64]) throws(DiskImageError) {
        for entry in entries {
            let l2Offset = entry & Qcow2EntryBits.offsetMask
            guard l2Offset != 0 else { continue }
            for cluster in try clustersMapped(byL2Table: l2Offset) {
                try releaseClusters(cluster << UInt64(geometry.clusterBits), geometry.clusterBytes, freed: &freed)
            }
            try releaseClusters(l2Offset, geometry.clusterBytes, freed: &freed)
        }
    }

    /// Host clusters an L2 table references, one element per reference (compressed data can touch two).
    private func clustersMapped(byL2Table l2Offset: UInt64) throws(DiskImageError) -> [UInt64] {
        let table = try loadL2Table(l2Offset)
        var clusters: [UInt64] = []
        for index in 0..<geometry.l2Entries {
            let entry = table.l2Entry(index, geometry: geometry)
            if entry.isCompressed {
                let range = Qcow2CompressedCluster(entry: entry.descriptor, geometry: geometry).referencedRange
                let first = range.start >> UInt64(geometry.clusterBits)
                let last = (range.start + range.length - 1) >> UInt64(geometry.clusterBits)
                for cluster in first...last { clusters.append(cluster) }
            } else if entry.hostOffset != 0 {
                clusters.append(entry.hostOffset >> UInt64(geometry.clusterBits))
            }
        }
        return clusters
    }

    /// Recomputes the copied flags (bit 63) of the active L1 and its L2 tables from the refcounts.
    private func refreshCopiedFlags() throws(DiskImageError) {
        for index in l1.indices {
            let l2Offset = l1[index] & Qcow2EntryBits.offsetMask
            guard l2Offset != 0 else { continue }
            let owned = try refcount(ofCluster: l2Offset >> UInt64(geometry.clusterBits)) == 1
            let wanted = owned ? l1[index] | Qcow2EntryBits.copied : l1[index] & ~Qcow2EntryBits.copied
            if wanted != l1[index] {
                l1[index] = wanted
                dirtyL1Entries.insert(index)
            }
            let table = try loadL2Table(l2Offset)
            for slot in 0..<geometry.l2Entries {
                var entry = table.l2Entry(slot, geometry: geometry)
                guard !entry.isCompressed, entry.hostOffset != 0 else { continue }
                let single = try refcount(ofCluster: entry.hostOffset >> UInt64(geometry.clusterBits)) == 1
                let descriptor =
                    single ? entry.descriptor | Qcow2EntryBits.copied : entry.descriptor & ~Qcow2EntryBits.copied
                if descriptor != entry.descriptor {
                    entry.descriptor = descriptor
                    try loadL2Table(l2Offset).setL2Entry(slot, entry, geometry: geometry)
                }
            }
        }
    }

    /// Writes `list` as a new snapshot table, switches the header to it and releases the old table.
    func writeSnapshotTable(_ list: [Qcow2Snapshot]) throws(DiskImageError) {
        let bytes = list.flatMap(\.encoded)
        guard UInt64(bytes.count) <= Qcow2Limits.maximumSnapshotTableBytes else {
            throw .notSupported("a snapshot table larger than 64 MiB")
        }
        var offset: UInt64 = 0
        if !bytes.isEmpty {
            offset = try allocateClusters(geometry.clusters(for: UInt64(bytes.count)))
            try writeBackRefcounts()
            try barrier()
            try writeFile(at: offset, bytes: bytes)
            try barrier()
        }
        var field = [UInt8](repeating: 0, count: 12)
        field.storeBigEndian32(UInt32(list.count), at: 0)
        field.storeBigEndian64(offset, at: 4)
        try writeFile(at: UInt64(Qcow2Header.Field.snapshotCount), bytes: field)
        try barrier()
        if header.snapshotCount > 0 && snapshotTableLength > 0 {
            scheduleRelease(header.snapshotsOffset, snapshotTableLength)
        }
        header.snapshotCount = UInt32(list.count)
        header.snapshotsOffset = offset
        snapshots = list
        snapshotTableLength = UInt64(bytes.count)
        insertMetadataRange(offset, UInt64(bytes.count))
    }

    private func insertMetadataRange(_ offset: UInt64, _ length: UInt64) {
        var cluster = offset & ~geometry.clusterMask
        while length > 0 && cluster < offset + length {
            metadataClusters.insert(cluster)
            cluster += geometry.clusterBytes
        }
    }
}
