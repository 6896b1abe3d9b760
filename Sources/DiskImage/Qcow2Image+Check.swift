/// Consistency check and repair, following QEMU's qcow2_check_refcounts: recompute every cluster's
/// references from the header, the active and snapshot L1/L2 tables, the snapshot table, the refcount
/// structures and the bitmaps, compare with the stored refcounts, fix what the mode allows, then check
/// the copied flags of the active tables.
extension Qcow2Image {
    /// Largest file, in clusters, a check will take on (its counters take 4 bytes per cluster).
    static let maximumCheckedClusters: UInt64 = 1 << 27
    /// Messages kept in a report; further findings are only counted.
    static let maximumCheckMessages = 1000

    /// Counts from comparing stored and recomputed refcounts.
    private struct Comparison {
        var leaks = 0
        var corruptions = 0
        var leaksFixed = 0
        var corruptionsFixed = 0
        var checkErrors = 0
        var highestCluster: UInt64 = 0
        var needsRebuild = false
        var freed: [UInt64] = []
    }

    func checkLocked(repair: Qcow2RepairMode) throws(DiskImageError) -> Qcow2CheckReport {
        if !isReadOnly {
            try writeBackMetadata()
            try barrier()
        }
        var report = Qcow2CheckReport()
        report.totalClusters = geometry.clusters(for: header.size)
        guard geometry.clusters(for: fileLength) <= Self.maximumCheckedClusters else {
            report.checkErrors += 1
            report.messages.append("ERROR the image file is too large to check")
            return report
        }

        var structure = report
        var (references, rebuild) = try countReferences(into: &structure)
        let structuralMessages = structure.messages
        var comparison = try compareRefcounts(references, fix: .none, into: &structure)
        rebuild = rebuild || comparison.needsRebuild

        if rebuild && repair == .all {
            let before = (corruptions: structure.corruptions + comparison.corruptions, leaks: comparison.leaks)
            structure.messages.append("Rebuilding refcount structure")
            try rebuildRefcountStructure(&references)
            var fresh = report
            fresh.messages = structure.messages
            (references, rebuild) = try countReferences(into: &fresh)
            comparison = try compareRefcounts(references, fix: .leaks, into: &fresh)
            if rebuild || comparison.needsRebuild {
                fresh.messages.append("ERROR rebuilt refcount structure is still broken")
            }
            structure = fresh
            comparison.corruptionsFixed += max(0, before.corruptions - structure.corruptions - comparison.corruptions)
            comparison.leaksFixed = max(0, before.leaks - comparison.leaks)
        } else if repair != .none {
            if rebuild {
                structure.checkErrors += 1
                structure.messages.append("ERROR need to rebuild refcount structures")
            } else if comparison.leaks > 0 || comparison.corruptions > 0 {
                structure.messages = structuralMessages
                comparison = try compareRefcounts(references, fix: repair, into: &structure)
            }
        }

        report = structure
        report.leaks += comparison.leaks
        report.corruptions += comparison.corruptions
        report.leaksFixed += comparison.leaksFixed
        report.corruptionsFixed += comparison.corruptionsFixed
        report.checkErrors += comparison.checkErrors
        try checkCopiedFlags(fix: repair == .all, into: &report)

        if !isReadOnly {
            try writeBackMetadata()
            for cluster in comparison.freed where cluster < fileLength {
                file.punchHole(offset: cluster, length: geometry.clusterBytes)
            }
            try barrier()
        }
        report.imageEndOffset = (comparison.highestCluster + 1) << UInt64(geometry.clusterBits)
        if repair != .none && report.corruptions == 0 && report.checkErrors == 0 {
            if header.incompatibleFeatures.contains(.dirty) { try setIncompatibleFeature(.dirty, false) }
            if header.incompatibleFeatures.contains(.corrupt) { try setIncompatibleFeature(.corrupt, false) }
        }
        return report
    }

    private func note(_ message: String, _ report: inout Qcow2CheckReport) {
        if report.messages.count < Self.maximumCheckMessages { report.messages.append(message) }
    }

    private func hex(_ value: UInt64) -> String { String(value, radix: 16) }

    // MARK: Counting references

    /// Recomputes references; structural problems go into `report`. Returns whether the refcount
    /// structure itself is broken (needs a rebuild).
    private func countReferences(
        into report: inout Qcow2CheckReport
    ) throws(DiskImageError) -> (Qcow2ReferenceCounts, Bool) {
        var references = Qcow2ReferenceCounts(
            clusters: Int(geometry.clusters(for: fileLength)), clusterBits: geometry.clusterBits)
        references.add(0, geometry.clusterBytes)
        try countL1Table(header.l1TableOffset, entries: l1, statistics: true, &references, &report)
        for snapshot in snapshots {
            let bytes = try file.readBytes(at: snapshot.l1TableOffset, count: Int(snapshot.l1Size) * 8)
            let entries = stride(from: 0, to: bytes.count, by: 8).map { bytes.bigEndian64(at: $0) }
            try countL1Table(snapshot.l1TableOffset, entries: entries, statistics: false, &references, &report)
        }
        if !snapshots.isEmpty { references.add(header.snapshotsOffset, snapshotTableLength) }
        references.add(header.refcountTableOffset, UInt64(header.refcountTableClusters) << UInt64(geometry.clusterBits))
        try countBitmaps(&references, &report)

        var rebuild = false
        let fileClusters = geometry.clusters(for: fileLength)
        for (index, entry) in refcountTable.enumerated() {
            let offset = entry & Qcow2EntryBits.refcountTableOffsetMask
            guard entry != 0 else { continue }
            if offset & geometry.clusterMask != 0 || entry & ~Qcow2EntryBits.refcountTableOffsetMask != 0 {
                report.corruptions += 1
                rebuild = true
                note("ERROR refcount block \(index) is not cluster aligned; refcount table entry corrupted", &report)
                continue
            }
            let cluster = offset >> UInt64(geometry.clusterBits)
            if cluster >= fileClusters || offset == 0 {
                report.corruptions += 1
                rebuild = true
                note("ERROR refcount block \(index) is outside image", &report)
                continue
            }
            references.add(offset, geometry.clusterBytes)
            if references.count(cluster) != 1 {
                report.corruptions += 1
                rebuild = true
                note("ERROR refcount block \(index) refcount=\(references.count(cluster))", &report)
            }
        }
        if references.dropped > 0 {
            report.checkErrors += 1
            note("ERROR too many references past the end of the file", &report)
        }
        return (references, rebuild)
    }

    /// Counts an L1 table, its L2 tables and their clusters; `statistics` for the active table.
    private func countL1Table(
        _ offset: UInt64, entries: [UInt64], statistics: Bool, _ references: inout Qcow2ReferenceCounts,
        _ report: inout Qcow2CheckReport
    ) throws(DiskImageError) {
        references.add(offset, UInt64(entries.count) * 8)
        for entry in entries {
            let l2Offset = entry & Qcow2EntryBits.offsetMask
            guard l2Offset != 0 else { continue }
            references.add(l2Offset, geometry.clusterBytes)
            guard l2Offset & geometry.clusterMask == 0 else {
                report.corruptions += 1
                note("ERROR l2_offset=\(hex(l2Offset)): Table is not cluster aligned; L1 entry corrupted", &report)
                continue
            }
            guard l2Offset + geometry.clusterBytes <= fileLength else {
                report.corruptions += 1
                note("ERROR l2_offset=\(hex(l2Offset)): Table is outside the image", &report)
                continue
            }
            let table = Qcow2MetadataTable(
                offset: l2Offset, bytes: try file.readBytes(at: l2Offset, count: geometry.clusterSize))
            var nextContiguous: UInt64 = 0
            for index in 0..<geometry.l2Entries {
                let l2Entry = table.l2Entry(index, geometry: geometry)
                if let problem = l2Entry.problem(geometry: geometry) {
                    report.corruptions += 1
                    note(
                        "ERROR L2 entry \(hex(l2Entry.descriptor)) at index \(index) of table \(hex(l2Offset)): \(problem)",
                        &report)
                }
                if l2Entry.isCompressed {
                    let range = Qcow2CompressedCluster(entry: l2Entry.descriptor, geometry: geometry).referencedRange
                    references.add(range.start, range.length)
                    if statistics {
                        report.allocatedClusters += 1
                        report.compressedClusters += 1
                        report.fragmentedClusters += 1
                    }
                    continue
                }
                let host = l2Entry.hostOffset
                guard host != 0 else { continue }
                if statistics {
                    report.allocatedClusters += 1
                    if nextContiguous != 0 && host != nextContiguous { report.fragmentedClusters += 1 }
                    nextContiguous = host + geometry.clusterBytes
                }
                references.add(host, geometry.clusterBytes)
            }
        }
    }

    /// Counts the bitmap directory, bitmap tables and bitmap data clusters (qcow2 spec "Bitmaps").
    private func countBitmaps(
        _ references: inout Qcow2ReferenceCounts, _ report: inout Qcow2CheckReport
    ) throws(DiskImageError) {
        guard let bitmaps = header.bitmaps else { return }
        let (end, overflow) = bitmaps.directoryOffset.addingReportingOverflow(bitmaps.directorySize)
        guard !overflow, end <= fileLength else {
            report.corruptions += 1
            note("ERROR bitmap directory is outside the image", &report)
            return
        }
        references.add(bitmaps.directoryOffset, bitmaps.directorySize)
        let directory = try file.readBytes(at: bitmaps.directoryOffset, count: Int(bitmaps.directorySize))
        var position = 0
        for _ in 0..<Int(bitmaps.bitmapCount) {
            guard position + 24 <= directory.count else {
                report.corruptions += 1
                note("ERROR bitmap directory is truncated", &report)
                return
            }
            let tableOffset = directory.bigEndian64(at: position)
            let tableBytes = UInt64(directory.bigEndian32(at: position + 8)) * 8
            let variable = Int(directory.bigEndian16(at: position + 18)) + Int(directory.bigEndian32(at: position + 20))
            position = (position + 24 + variable + 7) & ~7
            let (tableEnd, tableOverflow) = tableOffset.addingReportingOverflow(tableBytes)
            guard tableOffset & geometry.clusterMask == 0, !tableOverflow, tableEnd <= fileLength else {
                report.corruptions += 1
                note("ERROR bitmap table at \(hex(tableOffset)) is invalid", &report)
                continue
            }
            references.add(tableOffset, tableBytes)
            let table = try file.readBytes(at: tableOffset, count: Int(tableBytes))
            for entryOffset in stride(from: 0, to: table.count, by: 8) {
                let data = table.bigEndian64(at: entryOffset) & Qcow2EntryBits.offsetMask
                if data != 0 { references.add(data, geometry.clusterBytes) }
            }
        }
    }

    // MARK: Comparing

    /// Compares stored refcounts with `references`, fixing what `fix` allows.
    private func compareRefcounts(
        _ references: Qcow2ReferenceCounts, fix: Qcow2RepairMode, into report: inout Qcow2CheckReport
    ) throws(DiskImageError) -> Comparison {
        var result = Comparison()
        let blockBits = UInt64(geometry.refcountBlockBits)
        let fileClusters = UInt64(references.clusterCount)

        func compare(_ cluster: UInt64, stored: UInt64) throws(DiskImageError) {
            let computed = references.count(cluster)
            if stored > 0 || computed > 0 { result.highestCluster = cluster }
            guard stored != computed else { return }
            let allowed: Bool
            if stored == 0 {
                result.needsRebuild = true
                allowed = false
            } else if stored > computed {
                allowed = fix != .none
            } else {
                allowed = fix == .all
            }
            if allowed {
                try setReference(ofCluster: cluster, to: computed)
                if computed == 0 { result.freed.append(cluster << UInt64(geometry.clusterBits)) }
                if stored > computed { result.leaksFixed += 1 } else { result.corruptionsFixed += 1 }
                note("Repairing cluster \(cluster) refcount=\(stored) reference=\(computed)", &report)
            } else if stored > computed {
                result.leaks += 1
                note("Leaked cluster \(cluster) refcount=\(stored) reference=\(computed)", &report)
            } else {
                result.corruptions += 1
                note("ERROR cluster \(cluster) refcount=\(stored) reference=\(computed)", &report)
            }
        }

        var cluster: UInt64 = 0
        while cluster < fileClusters {
            let tableIndex = cluster >> blockBits
            let blockEnd = min((tableIndex + 1) << blockBits, fileClusters)
            var block: Qcow2MetadataTable?
            if tableIndex < UInt64(refcountTable.count) {
                let offset = refcountTable[Int(tableIndex)] & Qcow2EntryBits.refcountTableOffsetMask
                if offset != 0 {
                    do {
                        block = try loadRefcountBlock(offset)
                    } catch {
                        result.checkErrors += 1
                        note("Can't get refcount for clusters \(cluster)-\(blockEnd - 1): \(error)", &report)
                        cluster = blockEnd
                        continue
                    }
                }
            }
            for current in cluster..<blockEnd {
                let stored =
                    block?.refcount(
                        Int(current & UInt64(geometry.refcountBlockEntries - 1)), order: geometry.refcountOrder)
                    ?? 0
                try compare(current, stored: stored)
            }
            cluster = blockEnd
        }
        for beyond in references.clustersToCompare {
            let stored = (try? refcount(ofCluster: beyond)) ?? 0
            try compare(beyond, stored: stored)
        }
        return result
    }

    // MARK: Copied flags

    /// Bit 63 of active L1 and L2 entries must be set exactly when the refcount is 1.
    private func checkCopiedFlags(fix: Bool, into report: inout Qcow2CheckReport) throws(DiskImageError) {
        for index in l1.indices {
            let entry = l1[index]
            let l2Offset = entry & Qcow2EntryBits.offsetMask
            guard l2Offset != 0, l2Offset & geometry.clusterMask == 0 else { continue }
            guard let refcount = try? refcount(ofCluster: l2Offset >> UInt64(geometry.clusterBits)) else { continue }
            if (refcount == 1) != (entry & Qcow2EntryBits.copied != 0) {
                if fix {
                    l1[index] = refcount == 1 ? entry | Qcow2EntryBits.copied : entry & ~Qcow2EntryBits.copied
                    dirtyL1Entries.insert(index)
                    report.corruptionsFixed += 1
                } else {
                    report.corruptions += 1
                }
                note(
                    "\(fix ? "Repairing" : "ERROR") OFLAG_COPIED L2 cluster: l1_index=\(index) l1_entry=\(hex(entry)) refcount=\(refcount)",
                    &report)
            }
            guard let table = try? loadL2Table(l2Offset) else { continue }
            for slot in 0..<geometry.l2Entries {
                let l2Entry = table.l2Entry(slot, geometry: geometry)
                let host = l2Entry.hostOffset
                guard !l2Entry.isCompressed, host != 0 else { continue }
                guard let dataRefcount = try? self.refcount(ofCluster: host >> UInt64(geometry.clusterBits)) else {
                    continue
                }
                if (dataRefcount == 1) != l2Entry.isCopied {
                    if fix {
                        var fixed = l2Entry
                        fixed.descriptor =
                            dataRefcount == 1
                            ? fixed.descriptor | Qcow2EntryBits.copied : fixed.descriptor & ~Qcow2EntryBits.copied
                        table.setL2Entry(slot, fixed, geometry: geometry)
                        report.corruptionsFixed += 1
                    } else {
                        report.corruptions += 1
                    }
                    note(
                        "\(fix ? "Repairing" : "ERROR") OFLAG_COPIED data cluster: l2_entry=\(hex(l2Entry.descriptor)) refcount=\(dataRefcount)",
                        &report)
                }
            }
        }
    }

    // MARK: Rebuilding

    /// Writes a new refcount structure describing `references` past the end of the file and switches the
    /// header to it. The old blocks and table are not counted in it: they are free once it is in use.
    private func rebuildRefcountStructure(_ references: inout Qcow2ReferenceCounts) throws(DiskImageError) {
        guard !isReadOnly else { throw .readOnly }
        refcountCache.removeAll()
        let clusterBits = UInt64(geometry.clusterBits)
        let blockBits = UInt64(geometry.refcountBlockBits)
        let fileClusters = UInt64(references.clusterCount)
        for entry in refcountTable {
            let offset = entry & Qcow2EntryBits.refcountTableOffsetMask
            if entry != 0, offset & geometry.clusterMask == 0, offset >> clusterBits < fileClusters {
                references.decrement(offset >> clusterBits)
            }
        }
        for index in 0..<UInt64(header.refcountTableClusters) {
            references.decrement((header.refcountTableOffset >> clusterBits) + index)
        }

        var firstNew = max(fileClusters, allocationEnd >> clusterBits)
        if let last = references.clustersToCompare.last { firstNew = max(firstNew, last + 1) }
        var used: Set<UInt64> = []
        for cluster in 0..<fileClusters where references.count(cluster) > 0 { used.insert(cluster >> blockBits) }
        for cluster in references.clustersToCompare where references.count(cluster) > 0 {
            used.insert(cluster >> blockBits)
        }

        let (blocks, tableClusters) = try selfDescribingRefcountLayout(
            used: used, firstNew: firstNew, blockBits: blockBits,
            tableTooLarge: "rebuilding a refcount table larger than 8 MiB")
        let newEnd = firstNew + UInt64(blocks.count) + tableClusters
        guard newEnd << clusterBits <= Qcow2Limits.maximumHostOffset, newEnd - fileClusters < 1 << 20 else {
            throw .notSupported("rebuilding refcounts for an image this large")
        }
        references.extend(to: Int(newEnd))
        for cluster in firstNew..<newEnd { references.set(cluster, 1) }

        var table = [UInt64](repeating: 0, count: Int(tableClusters << clusterBits) / 8)
        for (position, blockIndex) in blocks.enumerated() {
            let offset = (firstNew + UInt64(position)) << clusterBits
            table[Int(blockIndex)] = offset
            let block = Qcow2MetadataTable(offset: offset, bytes: [UInt8](repeating: 0, count: geometry.clusterSize))
            let first = blockIndex << blockBits
            for index in 0..<UInt64(geometry.refcountBlockEntries) {
                let count = references.count(first + index)
                guard count <= geometry.maximumRefcount else {
                    throw .notSupported("a refcount of \(count) with refcount_bits \(geometry.refcountBits)")
                }
                if count > 0 { block.setRefcount(Int(index), order: geometry.refcountOrder, count) }
            }
            try writeFile(at: offset, bytes: block.bytes)
        }
        let tableOffset = (firstNew + UInt64(blocks.count)) << clusterBits
        var tableBytes = [UInt8](repeating: 0, count: table.count * 8)
        for (index, entry) in table.enumerated() { tableBytes.storeBigEndian64(entry, at: index * 8) }
        try writeFile(at: tableOffset, bytes: tableBytes)
        try barrier()
        var field = [UInt8](repeating: 0, count: 12)
        field.storeBigEndian64(tableOffset, at: 0)
        field.storeBigEndian32(UInt32(tableClusters), at: 8)
        try writeFile(at: UInt64(Qcow2Header.Field.refcountTableOffset), bytes: field)
        try barrier()

        for entry in refcountTable where entry & Qcow2EntryBits.refcountTableOffsetMask != 0 {
            metadataClusters.remove(entry & Qcow2EntryBits.refcountTableOffsetMask)
        }
        for index in 0..<UInt64(header.refcountTableClusters) {
            metadataClusters.remove(header.refcountTableOffset + (index << clusterBits))
        }
        refcountTable = table
        header.refcountTableOffset = tableOffset
        header.refcountTableClusters = UInt32(tableClusters)
        for cluster in firstNew..<newEnd { metadataClusters.insert(cluster << clusterBits) }
        replacedRefcountTable = nil
        dirtyRefcountTableEntries.removeAll()
        allocationEnd = max(allocationEnd, newEnd << clusterBits)
    }
}
