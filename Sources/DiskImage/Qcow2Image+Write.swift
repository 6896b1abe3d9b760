/// Writing guest data: in place where the cluster is ours alone (copied flag), otherwise into a new
/// cluster filled first with the old contents (backing file, zeroes, decompressed or shared data).
extension Qcow2Image {
    /// Before the first change: with lazy refcounts, mark the image dirty durably (qcow2 spec
    /// "incompatible_features" bit 0), as QEMU does.
    func prepareForChange() throws(DiskImageError) {
        if header.compatibleFeatures.contains(.lazyRefcounts) && !header.incompatibleFeatures.contains(.dirty) {
            try barrier()
            try setIncompatibleFeature(.dirty, true)
        }
    }

    /// Writes `buffer` at `offset` (lock held, range checked).
    func writeLocked(at offset: UInt64, from buffer: UnsafeRawBufferPointer) throws(DiskImageError) {
        try prepareForChange()
        var done = 0
        while done < buffer.count {
            let guest = offset + UInt64(done)
            let count = min(buffer.count - done, Int(geometry.clusterBytes - (guest & geometry.clusterMask)))
            try writeInCluster(at: guest, from: UnsafeRawBufferPointer(rebasing: buffer[done..<done + count]))
            done += count
        }
    }

    /// The L2 table mapping `guest`, ready to be modified: allocated if missing, copied if shared with a
    /// snapshot (L1 entry without the copied flag). Returns its offset; callers look it up again after
    /// any other metadata access, since the cache may have evicted it meanwhile.
    func writableL2Table(for guest: UInt64) throws(DiskImageError) -> UInt64 {
        let l1Index = Int(geometry.l1Index(guest))
        guard l1Index < l1.count else { throw .corrupt("guest offset \(guest) is beyond the L1 table") }
        let entry = l1[l1Index]
        let oldOffset = entry & Qcow2EntryBits.offsetMask
        if oldOffset != 0 && entry & Qcow2EntryBits.copied != 0 { return oldOffset }
        if oldOffset != 0, try refcount(ofCluster: oldOffset >> UInt64(geometry.clusterBits)) == 1 {
            // Ours alone after all (the flag is only a hint outside the active table): claim it.
            l1[l1Index] = oldOffset | Qcow2EntryBits.copied
            dirtyL1Entries.insert(l1Index)
            return oldOffset
        }
        var bytes = [UInt8](repeating: 0, count: geometry.clusterSize)
        if oldOffset != 0 {
            // A table shared with a snapshot: its clusters are shared too, so the copy claims none of
            // them (copied flags cleared; a later write copies the cluster or finds it ours).
            let shared = try loadL2Table(oldOffset)
            let copy = Qcow2MetadataTable(offset: 0, bytes: shared.bytes)
            for index in 0..<geometry.l2Entries {
                var entry = copy.l2Entry(index, geometry: geometry)
                if entry.isCopied {
                    entry.descriptor &= ~Qcow2EntryBits.copied
                    copy.setL2Entry(index, entry, geometry: geometry)
                }
            }
            bytes = copy.bytes
        }
        let newOffset = try allocateClusters(1)
        try insertNewTable(newOffset, bytes: bytes, inL2Cache: true)
        l1[l1Index] = newOffset | Qcow2EntryBits.copied
        dirtyL1Entries.insert(l1Index)
        if oldOffset != 0 { scheduleRelease(oldOffset, geometry.clusterBytes) }
        return newOffset
    }

    /// The L2 entry for `guest` in the table at `l2Offset`.
    func l2Entry(in l2Offset: UInt64, for guest: UInt64) throws(DiskImageError) -> Qcow2L2Entry {
        try loadL2Table(l2Offset).l2Entry(geometry.l2Index(guest), geometry: geometry)
    }

    /// Stores a new L2 entry for `guest`.
    func setL2Entry(in l2Offset: UInt64, for guest: UInt64, _ entry: Qcow2L2Entry) throws(DiskImageError) {
        try loadL2Table(l2Offset).setL2Entry(geometry.l2Index(guest), entry, geometry: geometry)
    }

    /// Refuses a data write into a cluster holding metadata (a corrupt L2 entry would otherwise let the
    /// guest overwrite tables).
    private func checkDataCluster(_ host: UInt64) throws(DiskImageError) {
        if metadataClusters.contains(host) {
            throw .corrupt("data cluster at 0x\(String(host, radix: 16)) overlaps image metadata")
        }
    }

    /// Writes within one guest cluster.
    private func writeInCluster(at guest: UInt64, from data: UnsafeRawBufferPointer) throws(DiskImageError) {
        let l2Offset = try writableL2Table(for: guest)
        let entry = try l2Entry(in: l2Offset, for: guest)
        if geometry.extendedL2 && !entry.isCompressed {
            try writeInSubclusters(at: guest, from: data, l2Offset: l2Offset, entry: entry)
            return
        }
        let inCluster = Int(guest & geometry.clusterMask)
        let type = try entry.type(subcluster: 0, geometry: geometry)
        if case .normal(let host) = type, entry.isCopied {
            try checkDataCluster(host)
            try writeFile(at: host + UInt64(inCluster), from: data)
            return
        }
        // Build the whole new cluster: old contents (unless fully overwritten) with the new bytes on top.
        let clusterStart = guest & ~geometry.clusterMask
        var contents = [UInt8](repeating: 0, count: geometry.clusterSize)
        if data.count < geometry.clusterSize {
            try readCurrentContents(at: clusterStart, type: type, into: &contents)
        }
        contents.withUnsafeMutableBytes { target in
            UnsafeMutableRawBufferPointer(rebasing: target[inCluster..<inCluster + data.count]).copyMemory(from: data)
        }
        let host: UInt64
        if case .zeroWithHost(let reserved) = type, entry.isCopied {
            try checkDataCluster(reserved)
            host = reserved
        } else {
            host = try allocateClusters(1)
            scheduleRelease(of: type)
        }
        try writeFile(at: host, bytes: contents)
        // A compressed cluster replaced under extended L2 entries: every subcluster now holds data.
        let bitmap = geometry.extendedL2 ? Qcow2EntryBits.allAllocated : 0
        try setL2Entry(in: l2Offset, for: guest, Qcow2L2Entry(descriptor: host | Qcow2EntryBits.copied, bitmap: bitmap))
    }

    /// The cluster's present contents before a partial overwrite, by its current mapping. Bytes past the
    /// end of the virtual disk stay zero.
    private func readCurrentContents(
        at clusterStart: UInt64, type: Qcow2ClusterType, into contents: inout [UInt8]
    ) throws(DiskImageError) {
        let visible = Int(min(geometry.clusterBytes, header.size - clusterStart))
        try contents.withMutableBytes { (target) throws(DiskImageError) in
            let part = UnsafeMutableRawBufferPointer(rebasing: target[0..<visible])
            switch type {
            case .normal(let host):
                try file.read(at: host, into: part)
            case .zero, .zeroWithHost:
                break
            case .unallocated, .unallocatedWithHost:
                try readBacking(at: clusterStart, into: part)
            case .compressed(let compressed):
                let bytes = try decompress(compressed)
                bytes.withUnsafeBytes { source in
                    part.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<visible]))
                }
            }
        }
    }

    /// Extended L2 entries: only the touched subclusters become allocated; partial ones are completed
    /// from their previous contents; a shared host cluster is copied first (qcow2 spec "Extended L2
    /// Entries").
    private func writeInSubclusters(
        at guest: UInt64, from data: UnsafeRawBufferPointer, l2Offset: UInt64, entry: Qcow2L2Entry
    ) throws(DiskImageError) {
        let clusterStart = guest & ~geometry.clusterMask
        let inCluster = guest & geometry.clusterMask
        let end = inCluster + UInt64(data.count)
        let subBits = UInt64(geometry.subclusterBits)
        let first = inCluster >> subBits
        let last = (end - 1) >> subBits
        let rangeStart = first << subBits
        let rangeEnd = (last + 1) << subBits
        // Contents of the touched subcluster range: previous contents where the write is partial.
        var contents = [UInt8](repeating: 0, count: Int(rangeEnd - rangeStart))
        if inCluster != rangeStart || end != rangeEnd {
            let visibleEnd = min(rangeEnd, header.size - clusterStart)
            if visibleEnd > rangeStart {
                try contents.withMutableBytes { (target) throws(DiskImageError) in
                    try readLocked(
                        at: clusterStart + rangeStart,
                        into: UnsafeMutableRawBufferPointer(rebasing: target[0..<Int(visibleEnd - rangeStart)]))
                }
            }
        }
        contents.withUnsafeMutableBytes { target in
            let from = Int(inCluster - rangeStart)
            UnsafeMutableRawBufferPointer(rebasing: target[from..<from + data.count]).copyMemory(from: data)
        }

        var host = entry.hostOffset
        if host & geometry.clusterMask != 0 {
            throw .corrupt("L2 entry 0x\(String(entry.descriptor, radix: 16)) has an unaligned host offset")
        }
        if host == 0 || !entry.isCopied {
            let newHost = try allocateClusters(1)
            if host != 0 {
                // Shared with a snapshot: carry the other allocated subclusters over.
                var old = [UInt8](repeating: 0, count: geometry.clusterSize)
                try old.withMutableBytes { (buffer) throws(DiskImageError) in try file.read(at: host, into: buffer) }
                try writeFile(at: newHost, bytes: old)
                scheduleRelease(host, geometry.clusterBytes)
            }
            host = newHost
        } else {
            try checkDataCluster(host)
        }
        try writeFile(at: host + rangeStart, bytes: contents)
        let touched = ((UInt64(1) << (last - first + 1)) - 1) << first
        let bitmap = (entry.bitmap | touched) & ~(touched << 32)
        try setL2Entry(
            in: l2Offset, for: guest, Qcow2L2Entry(descriptor: host | Qcow2EntryBits.copied, bitmap: bitmap))
    }

    // MARK: Compressed clusters

    /// Refuses a compressed write that is not one whole cluster (or the disk's last, partial one).
    func checkCompressedRequest(at offset: UInt64, count: Int) throws(DiskImageError) {
        guard offset & geometry.clusterMask == 0 else {
            throw .invalidArgument("compressed writes must start on a cluster boundary")
        }
        guard count > 0, count <= geometry.clusterSize else {
            throw .invalidArgument("compressed writes cover exactly one cluster (or the last, partial one)")
        }
    }

    /// `data` (at most one cluster, zero-padded to one) compressed as QEMU does; nil when it does not
    /// shrink below a cluster (QEMU then stores it normally). Needs no image state.
    static func compressCluster(
        _ data: UnsafeRawBufferPointer, clusterSize: Int, type: Qcow2CompressionType
    ) -> [UInt8]? {
        var input = [UInt8](repeating: 0, count: clusterSize)
        input.withUnsafeMutableBytes { target in
            UnsafeMutableRawBufferPointer(rebasing: target[0..<data.count]).copyMemory(from: data)
        }
        var output = [UInt8](repeating: 0, count: clusterSize - 1)
        let length = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { destination in Qcow2Codec.compress(type, source, into: destination) }
        }
        guard let length else { return nil }
        output.removeLast(output.count - length)
        return output
    }

    /// Stores one guest cluster, `compressed` by `compressCluster` (lock held, range checked).
    func writeCompressedLocked(
        at offset: UInt64, from data: UnsafeRawBufferPointer, compressed: [UInt8]?
    ) throws(DiskImageError) {
        guard data.count == geometry.clusterSize || offset + UInt64(data.count) == header.size else {
            throw .invalidArgument("compressed writes cover exactly one cluster (or the last, partial one)")
        }
        try prepareForChange()
        guard let output = compressed else {
            try writeLocked(at: offset, from: data)
            return
        }
        let length = output.count
        let l2Offset = try writableL2Table(for: offset)
        let old = try l2Entry(in: l2Offset, for: offset)
        let hostOffset = try allocateCompressedBytes(length)
        guard let descriptor = Qcow2CompressedCluster.entry(hostOffset: hostOffset, length: length, geometry: geometry)
        else { throw .notSupported("compressed data at host offset 0x\(String(hostOffset, radix: 16))") }
        try output.withBytes { (buffer) throws(DiskImageError) in
            try writeFile(at: hostOffset, from: UnsafeRawBufferPointer(rebasing: buffer[0..<length]))
        }
        if old.isCompressed {
            scheduleRelease(of: try old.type(subcluster: 0, geometry: geometry))
        } else if old.hostOffset != 0 {
            scheduleRelease(old.hostOffset, geometry.clusterBytes)
        }
        try setL2Entry(in: l2Offset, for: offset, Qcow2L2Entry(descriptor: descriptor, bitmap: 0))
    }

    /// Space for `length` compressed bytes, packed after the previous compressed cluster when it fits in
    /// the same host cluster or spills into a freshly appended one. Every host cluster the bytes touch
    /// gains one reference (QEMU counts compressed references per cluster).
    private func allocateCompressedBytes(_ length: Int) throws(DiskImageError) -> UInt64 {
        let size = UInt64(length)
        // A cluster whose refcount is already at the maximum cannot take another compressed cluster.
        if compressedTail != 0,
            try refcount(ofCluster: compressedTail >> UInt64(geometry.clusterBits)) >= geometry.maximumRefcount
        {
            compressedTail = 0
        }
        if compressedTail != 0 {
            let clusterStart = compressedTail & ~geometry.clusterMask
            let room = geometry.clusterBytes - (compressedTail & geometry.clusterMask)
            if size <= room {
                let offset = compressedTail
                try addReference(toCluster: clusterStart >> UInt64(geometry.clusterBits), 1)
                compressedTail = (offset + size) & geometry.clusterMask == 0 ? 0 : offset + size
                return offset
            }
            if clusterStart + geometry.clusterBytes == allocationEnd {
                let extra = geometry.clusters(for: size - room)
                let next = try allocateClusters(extra)
                if next == clusterStart + geometry.clusterBytes {
                    let offset = compressedTail
                    try addReference(toCluster: clusterStart >> UInt64(geometry.clusterBits), 1)
                    compressedTail = (offset + size) & geometry.clusterMask == 0 ? 0 : offset + size
                    return offset
                }
                // Busy clusters were skipped (a corrupt image): give these back and start afresh.
                scheduleRelease(next, extra << UInt64(geometry.clusterBits))
            }
        }
        let start = try allocateClusters(geometry.clusters(for: size))
        compressedTail = (start + size) & geometry.clusterMask == 0 ? 0 : start + size
        return start
    }
}
