/// Changing an existing image's format options (`qemu-img amend`): the compatibility level (qcow2
/// spec "version"), lazy refcounts (compatible_features bit 0) and the refcount width
/// (refcount_order), following QEMU's qcow2_amend_options, qcow2_upgrade and qcow2_downgrade.
extension Qcow2Image {
    /// Header byte offset of compatible_features.
    private static let compatibleFeaturesField: UInt64 = 80

    /// Turns lazy refcounts on or off (version 3 only). Turning them off writes everything back and
    /// clears the dirty bit first, so the refcounts on disk are exact again.
    public func setLazyRefcounts(_ enabled: Bool) throws(DiskImageError) {
        try lock.withLock { () throws(DiskImageError) in
            try checkWritable()
            guard header.compatibleFeatures.contains(.lazyRefcounts) != enabled else { return }
            guard header.version >= 3 else {
                throw .invalidArgument("Lazy refcounts only supported with compatibility level 1.1 and above")
            }
            try writeBackMetadata()
            try barrier()
            if !enabled && header.incompatibleFeatures.contains(.dirty) { try setIncompatibleFeature(.dirty, false) }
            if enabled {
                header.compatibleFeatures.insert(.lazyRefcounts)
            } else {
                header.compatibleFeatures.remove(.lazyRefcounts)
            }
            var field = [UInt8](repeating: 0, count: 8)
            field.storeBigEndian64(header.compatibleFeatures.rawValue, at: 0)
            try writeFile(at: Self.compatibleFeaturesField, bytes: field)
            try barrier()
        }
    }

    /// Rewrites the image as version 2 ("0.10") or 3 ("1.1"). Upgrading gives every snapshot the extra
    /// data version 3 requires; downgrading turns zero clusters into data (or holes without a backing
    /// file) and refuses what version 2 cannot express, with QEMU's messages.
    public func setCompatibility(_ compatibility: Qcow2CreateOptions.Compatibility) throws(DiskImageError) {
        try lock.withLock { () throws(DiskImageError) in
            try checkWritable()
            let target: UInt32 = compatibility == .v3 ? 3 : 2
            guard target != header.version else { return }
            try writeBackMetadata()
            try barrier()
            if target == 3 { try upgradeLocked() } else { try downgradeLocked() }
        }
    }

    private func upgradeLocked() throws(DiskImageError) {
        if snapshots.contains(where: { $0.extraData.count < Qcow2Snapshot.requiredExtraBytes }) {
            var upgraded = snapshots
            for index in upgraded.indices where upgraded[index].extraData.count < Qcow2Snapshot.requiredExtraBytes {
                var extra = [UInt8](repeating: 0xFF, count: 24)
                extra.storeBigEndian64(upgraded[index].vmStateSize, at: 0)
                extra.storeBigEndian64(upgraded[index].diskSize ?? header.size, at: 8)
                upgraded[index].extraData = extra
                upgraded[index].diskSize = upgraded[index].diskSize ?? header.size
            }
            try writeSnapshotTable(upgraded)
            try writeBackMetadata()
            try barrier()
        }
        var upgraded = header
        upgraded.version = 3
        upgraded.headerLength = UInt32(Qcow2Header.currentLength)
        try rewriteHeader(upgraded)
    }

    private func downgradeLocked() throws(DiskImageError) {
        guard geometry.refcountOrder == 4 else { throw .invalidArgument("compat=0.10 requires refcount_bits=16") }
        if snapshots.contains(where: { $0.vmStateSize > UInt64(UInt32.max) || $0.diskSize != header.size }) {
            throw .invalidArgument("Internal snapshots prevent downgrade of image")
        }
        if header.incompatibleFeatures.contains(.dirty) { try setIncompatibleFeature(.dirty, false) }
        let blocking = header.incompatibleFeatures.subtracting(.compressionType)
        guard blocking.isEmpty else {
            throw .invalidArgument(
                "Cannot downgrade an image with incompatible features 0x\(String(blocking.rawValue, radix: 16)) set")
        }
        try expandZeroClusters()
        var downgraded = header
        if header.compressionType != .zlib {
            guard try !hasCompressedClusters() else {
                throw .invalidArgument(
                    "Cannot downgrade an image with zstd compression type and existing compressed clusters")
            }
            downgraded.compressionType = .zlib
            downgraded.incompatibleFeatures.remove(.compressionType)
        }
        downgraded.version = 2
        downgraded.headerLength = UInt32(Qcow2Header.version2Length)
        downgraded.compatibleFeatures = []
        downgraded.autoclearFeatures = []
        downgraded.refcountOrder = 4
        downgraded.unknownHeaderFields = []
        try rewriteHeader(downgraded)
    }

    /// Writes the whole header cluster from `newHeader` and adopts it.
    private func rewriteHeader(_ newHeader: Qcow2Header) throws(DiskImageError) {
        var bytes = try newHeader.encoded()
        bytes += [UInt8](repeating: 0, count: geometry.clusterSize - bytes.count)
        try writeFile(at: 0, bytes: bytes)
        try barrier()
        header = newHeader
    }

    /// Every L1 table: the active one, then each snapshot's (read from the file).
    private func allL1Tables() throws(DiskImageError) -> [[UInt64]] {
        var tables = [l1]
        for snapshot in snapshots {
            let bytes = try file.readBytes(at: snapshot.l1TableOffset, count: Int(snapshot.l1Size) * 8)
            tables.append(stride(from: 0, to: bytes.count, by: 8).map { bytes.bigEndian64(at: $0) })
        }
        return tables
    }

    private func hasCompressedClusters() throws(DiskImageError) -> Bool {
        for table in try allL1Tables() {
            for entry in table where entry & Qcow2EntryBits.offsetMask != 0 {
                let l2 = try loadL2Table(entry & Qcow2EntryBits.offsetMask)
                for index in 0..<geometry.l2Entries where l2.l2Entry(index, geometry: geometry).isCompressed {
                    return true
                }
            }
        }
        return false
    }

    /// QEMU's qcow2_expand_zero_clusters: version 2 has no zero flag. Without a backing file a zero
    /// cluster becomes a hole; otherwise it gets a fresh cluster of zeroes, counted once for every
    /// table sharing its L2 table. Zero clusters with a host cluster get that cluster zeroed.
    private func expandZeroClusters() throws(DiskImageError) {
        let zeroes = [UInt8](repeating: 0, count: geometry.clusterSize)
        for table in try allL1Tables() {
            for entry in table where entry & Qcow2EntryBits.offsetMask != 0 {
                let l2Offset = entry & Qcow2EntryBits.offsetMask
                let l2Refcount = try refcount(ofCluster: l2Offset >> UInt64(geometry.clusterBits))
                for index in 0..<geometry.l2Entries {
                    let current = try loadL2Table(l2Offset).l2Entry(index, geometry: geometry)
                    guard !current.isCompressed, current.descriptor & Qcow2EntryBits.zero != 0 else { continue }
                    var replacement = current
                    if current.hostOffset != 0 {
                        try writeFile(at: current.hostOffset, bytes: zeroes)
                        replacement.descriptor &= ~Qcow2EntryBits.zero
                    } else if backing == nil {
                        replacement = .unallocated
                    } else {
                        let host = try allocateClusters(1)
                        if l2Refcount > 1 {
                            try addReference(toCluster: host >> UInt64(geometry.clusterBits), Int64(l2Refcount - 1))
                        }
                        try writeFile(at: host, bytes: zeroes)
                        replacement = Qcow2L2Entry(
                            descriptor: host | (l2Refcount == 1 ? Qcow2EntryBits.copied : 0), bitmap: 0)
                    }
                    try loadL2Table(l2Offset).setL2Entry(index, replacement, geometry: geometry)
                }
            }
        }
        try writeBackMetadata()
        try barrier()
    }

    /// Rebuilds the refcount structure of the image at `path` with `bits`-bit entries (QEMU's
    /// qcow2_change_refcount_order): the new blocks and table are written past the end of the file,
    /// then one header write switches refcount_order and the table together; the old structure is
    /// simply no longer counted. Version 3 only (version 2 has 16-bit refcounts).
    public static func changeRefcountWidth(path: String, bits: Int) throws(DiskImageError) {
        guard bits > 0, bits <= 64, bits & (bits - 1) == 0 else {
            throw .invalidArgument("Refcount width must be a power of two and may not exceed 64 bits")
        }
        let image = try Qcow2Image(
            path: path, readOnly: false, backingChainLimit: 0, allowCorrupt: false, openBacking: false, visited: [])
        try image.lock.withLock { () throws(DiskImageError) in
            try image.writeBackMetadata()
            try image.barrier()
            let order = bits.trailingZeroBitCount
            if order != image.geometry.refcountOrder {
                guard image.header.version >= 3 else {
                    throw .invalidArgument(
                        "Refcount widths other than 16 bits require compatibility level 1.1 or above")
                }
                try image.writeRefcountStructure(order: order)
                image.isClosed = true
            } else {
                try image.closeLocked()
            }
        }
    }

    /// Most clusters a refcount width change takes on (its table of counts takes 8 bytes per cluster).
    private static let maximumRecountedClusters: UInt64 = 1 << 24

    private func writeRefcountStructure(order: Int) throws(DiskImageError) {
        let clusterBits = UInt64(geometry.clusterBits)
        let fileClusters = max(geometry.clusters(for: fileLength), allocationEnd >> clusterBits)
        guard fileClusters <= Self.maximumRecountedClusters else {
            throw .notSupported("changing the refcount width of an image file this large")
        }
        var counts = [UInt64](repeating: 0, count: Int(fileClusters))
        for cluster in 0..<fileClusters { counts[Int(cluster)] = try refcount(ofCluster: cluster) }
        // The old blocks and table are not counted in the new structure: they are free once it is used.
        for entry in refcountTable where entry & Qcow2EntryBits.refcountTableOffsetMask != 0 {
            let cluster = (entry & Qcow2EntryBits.refcountTableOffsetMask) >> clusterBits
            if cluster < fileClusters { counts[Int(cluster)] = 0 }
        }
        for index in 0..<UInt64(header.refcountTableClusters) {
            let cluster = (header.refcountTableOffset >> clusterBits) + index
            if cluster < fileClusters { counts[Int(cluster)] = 0 }
        }
        let newGeometry = Qcow2Geometry(
            clusterBits: geometry.clusterBits, refcountOrder: order, extendedL2: geometry.extendedL2)
        if let (cluster, count) = counts.enumerated().first(where: { $0.element > newGeometry.maximumRefcount }) {
            let offset = "0x" + String(UInt64(cluster) << clusterBits, radix: 16)
            throw .invalidArgument(
                "Cannot decrease refcount entry width to \(newGeometry.refcountBits) bits: Cluster at offset \(offset) has a refcount of \(count)"
            )
        }

        // New blocks and table right after the file; they count themselves.
        let blockBits = UInt64(newGeometry.refcountBlockBits)
        let firstNew = fileClusters
        var used = Set<UInt64>()
        for (cluster, count) in counts.enumerated() where count > 0 { used.insert(UInt64(cluster) >> blockBits) }
        let (blocks, tableClusters) = try selfDescribingRefcountLayout(
            used: used, firstNew: firstNew, blockBits: blockBits, tableTooLarge: "a refcount table larger than 8 MiB")
        let newEnd = firstNew + UInt64(blocks.count) + tableClusters
        guard newEnd << clusterBits <= Qcow2Limits.maximumHostOffset else {
            throw .notSupported("an image file larger than 64 PiB")
        }
        func count(_ cluster: UInt64) -> UInt64 {
            if cluster >= firstNew && cluster < newEnd { return 1 }
            return cluster < fileClusters ? counts[Int(cluster)] : 0
        }
        var table = [UInt8](repeating: 0, count: Int(tableClusters << clusterBits))
        for (position, blockIndex) in blocks.enumerated() {
            let offset = (firstNew + UInt64(position)) << clusterBits
            table.storeBigEndian64(offset, at: Int(blockIndex) * 8)
            let block = Qcow2MetadataTable(offset: offset, bytes: [UInt8](repeating: 0, count: geometry.clusterSize))
            let first = blockIndex << blockBits
            for index in 0..<UInt64(newGeometry.refcountBlockEntries) {
                let value = count(first + index)
                if value > 0 { block.setRefcount(Int(index), order: order, value) }
            }
            try writeFile(at: offset, bytes: block.bytes)
        }
        let tableOffset = (firstNew + UInt64(blocks.count)) << clusterBits
        try writeFile(at: tableOffset, bytes: table)
        try barrier()
        // refcount_table_offset, refcount_table_clusters and refcount_order share the first sector:
        // one write switches all three.
        var fields = [UInt8](repeating: 0, count: 52)
        fields.storeBigEndian64(tableOffset, at: 0)
        fields.storeBigEndian32(UInt32(tableClusters), at: 8)
        fields.storeBigEndian32(header.snapshotCount, at: 12)
        fields.storeBigEndian64(header.snapshotsOffset, at: 16)
        fields.storeBigEndian64(header.incompatibleFeatures.rawValue, at: 24)
        fields.storeBigEndian64(header.compatibleFeatures.rawValue, at: 32)
        fields.storeBigEndian64(header.autoclearFeatures.rawValue, at: 40)
        fields.storeBigEndian32(UInt32(order), at: 48)
        try writeFile(at: UInt64(Qcow2Header.Field.refcountTableOffset), bytes: fields)
        try barrier()
    }
}
