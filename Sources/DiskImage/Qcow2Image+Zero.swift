/// Discard and write-zeroes: whole (sub)clusters change only their L2 entries; partial ones are zeroed
/// by writing (qcow2 spec "Standard Cluster Descriptor" bit 0, "Extended L2 Entries").
extension Qcow2Image {
    /// Guest-visible end of the cluster starting at `clusterStart` (the disk may end inside it).
    private func visibleEnd(ofCluster clusterStart: UInt64) -> UInt64 {
        min(clusterStart + geometry.clusterBytes, header.size)
    }

    /// Where a run of clusters that already read as zeroes and need no change ends: the rest of an L2
    /// table's coverage when the table does not exist and nothing lies below. Nil otherwise.
    private func skippableRunEnd(at guest: UInt64) -> UInt64? {
        guard backing == nil else { return nil }
        let l1Index = geometry.l1Index(guest)
        guard l1Index >= UInt64(l1.count) || l1[Int(l1Index)] & Qcow2EntryBits.offsetMask == 0 else { return nil }
        return (l1Index + 1) << UInt64(geometry.l1Shift)
    }

    /// The L2 entry for `guest` without allocating anything (unallocated when there is no L2 table).
    private func currentEntry(for guest: UInt64) throws(DiskImageError) -> Qcow2L2Entry {
        let l1Index = Int(geometry.l1Index(guest))
        guard l1Index < l1.count else { return .unallocated }
        let l2Offset = l1[l1Index] & Qcow2EntryBits.offsetMask
        guard l2Offset != 0 else { return .unallocated }
        return try l2Entry(in: l2Offset, for: guest)
    }

    /// Deallocates whole clusters inside the range (lock held, range checked). As in QEMU, a discarded
    /// cluster then reads as zeroes when it was allocated or a backing file exists (v3 zero flag,
    /// extended L2 zero bits); version 2 images fall back to the backing file.
    func discardLocked(at offset: UInt64, length: UInt64) throws(DiskImageError) {
        guard length > 0 else { return }
        try prepareForChange()
        let end = offset + length
        var clusterStart = geometry.roundUp(offset) ?? end
        while clusterStart < end {
            if let runEnd = skippableRunEnd(at: clusterStart) {
                clusterStart = runEnd
                continue
            }
            let clusterEnd = visibleEnd(ofCluster: clusterStart)
            guard clusterEnd <= end else { break }
            let old = try currentEntry(for: clusterStart)
            let oldHasData = old.isCompressed || old.hostOffset != 0
            var new = old
            if backing != nil || oldHasData {
                if geometry.extendedL2 {
                    new = Qcow2L2Entry(descriptor: 0, bitmap: Qcow2EntryBits.allZero)
                } else {
                    new = Qcow2L2Entry(descriptor: header.version >= 3 ? Qcow2EntryBits.zero : 0, bitmap: 0)
                }
            }
            if new != old {
                let l2Offset = try writableL2Table(for: clusterStart)
                let current = try l2Entry(in: l2Offset, for: clusterStart)
                try setL2Entry(in: l2Offset, for: clusterStart, new)
                try releaseReference(of: current)
            }
            clusterStart += geometry.clusterBytes
        }
    }

    /// Queues the drop of whatever host space `entry` references.
    private func releaseReference(of entry: Qcow2L2Entry) throws(DiskImageError) {
        if entry.isCompressed {
            scheduleRelease(of: try entry.type(subcluster: 0, geometry: geometry))
        } else if entry.hostOffset != 0 {
            scheduleRelease(entry.hostOffset, geometry.clusterBytes)
        }
    }

    /// Makes the range read as zeroes (lock held, range checked).
    func writeZeroesLocked(at offset: UInt64, length: UInt64) throws(DiskImageError) {
        guard length > 0 else { return }
        try prepareForChange()
        let end = offset + length
        var position = offset
        while position < end {
            if let runEnd = skippableRunEnd(at: position) {
                position = min(end, runEnd)
                continue
            }
            let clusterStart = position & ~geometry.clusterMask
            let chunkEnd = min(end, clusterStart + geometry.clusterBytes)
            if position == clusterStart && chunkEnd >= visibleEnd(ofCluster: clusterStart) {
                try zeroWholeCluster(clusterStart)
            } else if geometry.extendedL2 {
                try zeroSubclusters(from: position, to: chunkEnd)
            } else {
                let type = try currentEntry(for: position).type(subcluster: 0, geometry: geometry)
                if !(type.readsAsZero || (type == .unallocated && backing == nil)) {
                    try writeZeroBytes(from: position, to: chunkEnd)
                }
            }
            position = chunkEnd
        }
    }

    /// One whole cluster: the zero flag (v3), zero bits (extended L2), deallocation (v2 without a backing
    /// file) or, failing those, written zeroes. A cluster that is ours alone keeps its host space.
    private func zeroWholeCluster(_ clusterStart: UInt64) throws(DiskImageError) {
        let old = try currentEntry(for: clusterStart)
        let ownsHost = !old.isCompressed && old.hostOffset != 0 && old.isCopied
        let new: Qcow2L2Entry
        var keepsHost = false
        if geometry.extendedL2 {
            keepsHost = ownsHost
            new = Qcow2L2Entry(descriptor: keepsHost ? old.descriptor : 0, bitmap: Qcow2EntryBits.allZero)
        } else if header.version >= 3 {
            keepsHost = ownsHost
            new = Qcow2L2Entry(
                descriptor: keepsHost ? old.descriptor | Qcow2EntryBits.zero : Qcow2EntryBits.zero, bitmap: 0)
        } else if backing == nil {
            new = .unallocated
        } else {
            try writeZeroBytes(from: clusterStart, to: visibleEnd(ofCluster: clusterStart))
            return
        }
        guard new != old else { return }
        let l2Offset = try writableL2Table(for: clusterStart)
        let current = try l2Entry(in: l2Offset, for: clusterStart)
        try setL2Entry(in: l2Offset, for: clusterStart, new)
        if !keepsHost { try releaseReference(of: current) }
    }

    /// Extended L2: aligned subclusters get their zero bit; partial ones are written with zeroes.
    private func zeroSubclusters(from start: UInt64, to end: UInt64) throws(DiskImageError) {
        let unit = geometry.subclusterBytes
        let alignedStart = (start + unit - 1) & ~(unit - 1)
        let alignedEnd = end == header.size ? end : end & ~(unit - 1)
        if alignedStart >= alignedEnd {
            try zeroPartialSubclusters(from: start, to: end)
            return
        }
        if start < alignedStart { try zeroPartialSubclusters(from: start, to: alignedStart) }
        let entry = try currentEntry(for: alignedStart)
        if entry.isCompressed {
            try writeZeroBytes(from: alignedStart, to: alignedEnd)
        } else {
            let first = geometry.subclusterIndex(alignedStart)
            let last = geometry.subclusterIndex(alignedEnd - 1)
            let mask = ((UInt64(1) << UInt64(last - first + 1)) - 1) << UInt64(first)
            let l2Offset = try writableL2Table(for: alignedStart)
            var current = try l2Entry(in: l2Offset, for: alignedStart)
            current.bitmap = (current.bitmap & ~mask) | (mask << 32)
            try setL2Entry(in: l2Offset, for: alignedStart, current)
        }
        if alignedEnd < end { try zeroPartialSubclusters(from: alignedEnd, to: end) }
    }

    /// Zeroes part of one subcluster by writing, unless it already reads as zeroes.
    private func zeroPartialSubclusters(from start: UInt64, to end: UInt64) throws(DiskImageError) {
        let entry = try currentEntry(for: start)
        if !entry.isCompressed {
            switch try entry.type(subcluster: geometry.subclusterIndex(start), geometry: geometry) {
            case .zero, .zeroWithHost: return
            case .unallocated, .unallocatedWithHost: if backing == nil { return }
            case .normal, .compressed: break
            }
        }
        try writeZeroBytes(from: start, to: end)
    }

    /// Writes zeroes through the normal write path.
    private func writeZeroBytes(from start: UInt64, to end: UInt64) throws(DiskImageError) {
        guard end > start else { return }
        let zeroes = [UInt8](repeating: 0, count: Int(min(end - start, geometry.clusterBytes)))
        var position = start
        while position < end {
            let count = Int(min(end - position, UInt64(zeroes.count)))
            try zeroes.withBytes { (buffer) throws(DiskImageError) in
                try writeLocked(at: position, from: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            }
            position += UInt64(count)
        }
    }
}
