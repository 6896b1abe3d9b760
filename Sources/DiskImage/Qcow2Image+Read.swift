/// Reading: guest offset → L1 → L2 → (sub)cluster → host data, zeroes, backing file or decompression
/// (qcow2 spec "Cluster mapping", "Extended L2 Entries", "Compressed Clusters Descriptor").
extension Qcow2Image {
    /// Fills `buffer` from the virtual disk at `offset` (lock held, range checked).
    func readLocked(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(DiskImageError) {
        var done = 0
        while done < buffer.count {
            let guest = offset + UInt64(done)
            let extent = try extent(at: guest, limit: UInt64(buffer.count - done))
            let count = Int(extent.length)
            let part = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<done + count])
            switch extent.kind {
            case .data(let host):
                try file.read(at: host, into: part)
            case .zero:
                part.initializeMemory(as: UInt8.self, repeating: 0)
            case .unallocated:
                try readBacking(at: guest, into: part)
            case .compressed(let compressed):
                try readCompressed(compressed, at: guest, into: part)
            }
            done += count
        }
    }

    /// The mapping of the run starting at `guest`, at most `limit` bytes and at most to the end of the
    /// L2 table's coverage (or of one compressed cluster).
    func extent(at guest: UInt64, limit: UInt64) throws(DiskImageError) -> Qcow2Extent {
        let l1Index = geometry.l1Index(guest)
        let coverageEnd = (l1Index + 1) << UInt64(geometry.l1Shift)
        let maximum = min(limit, coverageEnd - guest)
        guard l1Index < UInt64(l1.count) else { return Qcow2Extent(kind: .unallocated, length: maximum) }
        let l2Offset = l1[Int(l1Index)] & Qcow2EntryBits.offsetMask
        guard l2Offset != 0 else { return Qcow2Extent(kind: .unallocated, length: maximum) }
        let table = try loadL2Table(l2Offset)

        var kind: Qcow2Extent.Kind?
        var reservedHost: UInt64?
        var position = guest
        // Each step covers one (sub)cluster, so the loop is bounded by the table's entries × 32.
        while position - guest < maximum {
            let entry = table.l2Entry(geometry.l2Index(position), geometry: geometry)
            let subclustered = geometry.extendedL2 && !entry.isCompressed
            let unit = subclustered ? geometry.subclusterBytes : geometry.clusterBytes
            let type = try entry.type(
                subcluster: subclustered ? geometry.subclusterIndex(position) : 0, geometry: geometry)
            let unitKind: Qcow2Extent.Kind
            // Zero or unallocated (sub)clusters that keep a host cluster (QEMU's ZERO_ALLOC and
            // UNALLOCATED_ALLOC): `map` shows where.
            var unitHost: UInt64?
            switch type {
            case .normal(let host):
                guard host < fileLength else {
                    throw .corrupt("data cluster at 0x\(String(host, radix: 16)) lies past the end of the file")
                }
                unitKind = .data(host: host + (position & geometry.clusterMask))
            case .zero:
                unitKind = .zero
            case .zeroWithHost(let host):
                unitKind = .zero
                unitHost = host + (position & geometry.clusterMask)
            case .unallocated:
                unitKind = .unallocated
            case .unallocatedWithHost(let host):
                unitKind = .unallocated
                unitHost = host + (position & geometry.clusterMask)
            case .compressed(let compressed):
                guard compressed.hostOffset < fileLength else {
                    throw .corrupt(
                        "compressed cluster at 0x\(String(compressed.hostOffset, radix: 16)) lies past the end of the file"
                    )
                }
                unitKind = .compressed(compressed)
            }
            if let kind {
                guard Self.continues(kind, with: unitKind, after: position - guest),
                    (reservedHost == nil) == (unitHost == nil),
                    reservedHost.map({ $0 + (position - guest) == unitHost }) ?? true
                else { break }
            } else {
                kind = unitKind
                reservedHost = unitHost
            }
            position = (position & ~(unit - 1)) + unit
            if case .compressed = unitKind { break }
        }
        return Qcow2Extent(
            kind: kind ?? .unallocated, length: min(position - guest, maximum), reservedHost: reservedHost)
    }

    /// Whether a unit of kind `next`, `distance` bytes into a run of `kind`, extends the run.
    private static func continues(_ kind: Qcow2Extent.Kind, with next: Qcow2Extent.Kind, after distance: UInt64) -> Bool
    {
        switch (kind, next) {
        case (.data(let start), .data(let host)): return host == start + distance
        case (.zero, .zero), (.unallocated, .unallocated): return true
        default: return false
        }
    }

    /// Reads what lies under this image: the backing file within its size, zeroes elsewhere.
    func readBacking(at guest: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(DiskImageError) {
        guard let backing else {
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            return
        }
        let backingSize = backing.virtualSize
        let count = guest >= backingSize ? 0 : Int(min(UInt64(buffer.count), backingSize - guest))
        if count > 0 { try backing.read(at: guest, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])) }
        if count < buffer.count {
            UnsafeMutableRawBufferPointer(rebasing: buffer[count...]).initializeMemory(as: UInt8.self, repeating: 0)
        }
    }

    /// Copies part of a compressed cluster, decompressing it unless it was the last one read.
    private func readCompressed(
        _ compressed: Qcow2CompressedCluster, at guest: UInt64, into buffer: UnsafeMutableRawBufferPointer
    ) throws(DiskImageError) {
        let bytes = try decompress(compressed)
        let start = Int(guest & geometry.clusterMask)
        bytes.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[start..<start + buffer.count]))
        }
    }

    /// The full cluster stored compressed at `compressed`.
    func decompress(_ compressed: Qcow2CompressedCluster) throws(DiskImageError) -> [UInt8] {
        if let cached = decompressedCache, cached.cluster == compressed { return cached.bytes }
        let input = try file.readBytes(at: compressed.hostOffset, count: Int(compressed.byteLength))
        var output = [UInt8](repeating: 0, count: geometry.clusterSize)
        let type = header.compressionType
        try input.withBytes { (source) throws(DiskImageError) in
            try output.withMutableBytes { (destination) throws(DiskImageError) in
                try Qcow2Codec.decompress(type, source, into: destination)
            }
        }
        decompressedCache = (compressed, output)
        return output
    }

    /// Block status of the extent at `offset`, resolving unallocated ranges through the backing chain.
    func blockStatusLocked(at offset: UInt64, length: UInt64) throws(DiskImageError) -> BlockStatus {
        let extent = try extent(at: offset, limit: length)
        switch extent.kind {
        case .data(let host):
            return BlockStatus(kind: .data, length: extent.length, depth: 0, hostOffset: host)
        case .compressed:
            return BlockStatus(kind: .data, length: extent.length, depth: 0, isCompressed: true)
        case .zero:
            return BlockStatus(kind: .zero, length: extent.length, depth: 0, hostOffset: extent.reservedHost)
        case .unallocated:
            if let backing, offset < backing.virtualSize {
                var status = try backing.blockStatus(
                    at: offset, length: min(extent.length, backing.virtualSize - offset))
                status.depth += 1
                return status
            }
            return BlockStatus(kind: .unallocated, length: extent.length, depth: 0, hostOffset: extent.reservedHost)
        }
    }
}
