/// Changing the virtual size: the L1 table grows into a new place (qcow2 spec "Cluster mapping"), and
/// the header's size field is rewritten in place, as QEMU does.
extension Qcow2Image {
    func resizeLocked(to newSize: UInt64) throws(DiskImageError) {
        guard newSize % 512 == 0 else { throw .invalidArgument("The new size must be a multiple of 512") }
        guard newSize <= Qcow2Limits.maximumVirtualSize else { throw .invalidArgument("The new size is too large") }
        let oldSize = header.size
        if newSize == oldSize { return }
        try prepareForChange()
        if newSize > oldSize {
            try growL1Table(toMap: newSize)
            header.size = newSize
            // Space that becomes visible must read as zeroes: the tail of the old last cluster, and
            // anything a larger backing file would show through.
            let clusterTail = geometry.roundUp(oldSize) ?? oldSize
            let zeroEnd = min(newSize, max(clusterTail, backing?.virtualSize ?? 0))
            if zeroEnd > oldSize { try writeZeroesLocked(at: oldSize, length: zeroEnd - oldSize) }
            try writeSizeField(newSize)
        } else {
            var position = geometry.roundUp(newSize) ?? newSize
            while position < oldSize {
                let extent = try extent(at: position, limit: oldSize - position)
                switch extent.kind {
                case .data, .compressed:
                    throw .notSupported("shrinking below data stored at offset \(position)")
                case .zero, .unallocated:
                    position += extent.length
                }
            }
            try writeSizeField(newSize)
        }
    }

    /// Grows the L1 table to map `newSize` bytes and records the size (lock held).
    func growLocked(to newSize: UInt64) throws(DiskImageError) {
        try growL1Table(toMap: newSize)
        try writeSizeField(newSize)
    }

    /// Grows the L1 table, if needed, to map `size` bytes.
    private func growL1Table(toMap size: UInt64) throws(DiskImageError) {
        let needed = geometry.l1Entries(for: size)
        guard needed * 8 <= Qcow2Limits.maximumL1Bytes else {
            throw .invalidArgument("\(size) bytes need an L1 table larger than 32 MiB")
        }
        if needed > UInt64(l1.count) { try growL1Table(to: Int(needed)) }
    }

    /// Writes the virtual size into the header once the metadata it relies on is durable.
    func writeSizeField(_ size: UInt64) throws(DiskImageError) {
        try writeBackMetadata()
        try barrier()
        var field = [UInt8](repeating: 0, count: 8)
        field.storeBigEndian64(size, at: 0)
        try writeFile(at: UInt64(Qcow2Header.Field.size), bytes: field)
        try barrier()
        header.size = size
    }

    /// Copies the L1 table into `entries` entries at the end of the image, switches the header to it and
    /// releases the old one. Everything the old table points at is durable first.
    func growL1Table(to entries: Int) throws(DiskImageError) {
        try writeBackMetadata()
        let bytes = UInt64(entries) * 8
        let newOffset = try allocateClusters(geometry.clusters(for: bytes))
        try writeBackRefcounts()
        try barrier()
        var table = [UInt8](repeating: 0, count: Int(bytes))
        for (index, entry) in l1.enumerated() { table.storeBigEndian64(entry, at: index * 8) }
        try writeFile(at: newOffset, bytes: table)
        try barrier()
        var field = [UInt8](repeating: 0, count: 12)
        field.storeBigEndian32(UInt32(entries), at: 0)
        field.storeBigEndian64(newOffset, at: 4)
        try writeFile(at: UInt64(Qcow2Header.Field.l1Size), bytes: field)
        try barrier()
        if header.l1Size > 0 && header.l1TableOffset != 0 {
            scheduleRelease(header.l1TableOffset, UInt64(header.l1Size) * 8)
        }
        var cluster = newOffset
        while cluster < newOffset + bytes {
            metadataClusters.insert(cluster)
            cluster += geometry.clusterBytes
        }
        l1 += [UInt64](repeating: 0, count: entries - l1.count)
        header.l1Size = UInt32(entries)
        header.l1TableOffset = newOffset
        try writeBackMetadata()
    }
}
