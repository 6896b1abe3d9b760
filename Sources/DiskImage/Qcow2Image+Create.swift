/// Creating images laid out as qemu-img does: header cluster, refcount table, one refcount block, then
/// the L1 table allocated by growing the empty image to its size, then any preallocation.
extension Qcow2Image {
    /// Creates (or overwrites) a qcow2 image at `path`; with `existingFile`, writes it into that file,
    /// which `path` must name without a symbolic link (see `ImageFile.init(creating:existing:)`).
    public static func create(
        path: String, options: Qcow2CreateOptions, existingFile: FileIdentity? = nil
    ) throws(DiskImageError) {
        let clusterBits = try validate(options)
        let clusterSize = UInt64(1) << UInt64(clusterBits)
        var backingFormat = options.backingFormat
        var size = options.size
        if let backingFile = options.backingFile {
            let resolved = DiskImages.resolve(backingFile: backingFile, relativeTo: path)
            if size == nil {
                // Only the size is read: qemu-img opens the backing file sharing everything here.
                let backingImage = try DiskImages.open(
                    path: resolved, format: backingFormat, readOnly: true, sharing: .forceShare)
                size = backingImage.virtualSize
            }
            if backingFormat == nil { backingFormat = try? DiskImages.probeFormat(path: resolved) }
        }
        guard let size else { throw .invalidArgument("an image size is needed when there is no backing file") }
        guard size % 512 == 0 else { throw .invalidArgument("Image size must be a multiple of 512 bytes") }
        guard size <= Qcow2Limits.maximumVirtualSize else { throw .invalidArgument("Image size is too large") }
        let geometry = Qcow2Geometry(
            clusterBits: clusterBits, refcountOrder: options.refcountBits.trailingZeroBitCount,
            extendedL2: options.extendedL2)
        guard geometry.l1Entries(for: size) * 8 <= Qcow2Limits.maximumL1Bytes else {
            throw .invalidArgument("Image size is too large for this cluster size")
        }

        var header = Qcow2Header(
            version: options.compatibility == .v3 ? 3 : 2, clusterBits: UInt32(clusterBits), size: 0,
            refcountTableOffset: clusterSize, refcountTableClusters: 1)
        header.refcountOrder = UInt32(geometry.refcountOrder)
        if options.lazyRefcounts { header.compatibleFeatures.insert(.lazyRefcounts) }
        if options.extendedL2 { header.incompatibleFeatures.insert(.extendedL2) }
        if options.compressionType != .zlib {
            header.incompatibleFeatures.insert(.compressionType)
            header.compressionType = options.compressionType
        }
        header.backingFile = options.backingFile
        header.backingFormat = options.backingFile == nil ? nil : backingFormat?.rawValue

        // Cluster 0: header; cluster 1: refcount table; cluster 2: the block counting clusters 0-2.
        let file = try ImageFile(creating: path, existing: existingFile)
        let created = try file.identity()
        try file.write(at: 0, bytes: try header.encoded())
        var table = [UInt8](repeating: 0, count: Int(clusterSize))
        table.storeBigEndian64(2 * clusterSize, at: 0)
        try file.write(at: clusterSize, bytes: table)
        let block = Qcow2MetadataTable(offset: 2 * clusterSize, bytes: [UInt8](repeating: 0, count: Int(clusterSize)))
        for cluster in 0..<3 { block.setRefcount(cluster, order: geometry.refcountOrder, 1) }
        try file.write(at: 2 * clusterSize, bytes: block.bytes)
        try file.synchronize()
        file.releaseLocks()

        let image = try Qcow2Image(
            path: path, readOnly: false, backingChainLimit: 0, allowCorrupt: false, openBacking: false, visited: [],
            followSymlinks: existingFile == nil, expectedIdentity: created)
        try image.lock.withLock { () throws(DiskImageError) in
            try image.growLocked(to: size)
            try image.preallocateLocked(options.preallocation)
            try image.closeLocked()
        }
    }

    /// qemu-img's option checks; returns cluster_bits.
    private static func validate(_ options: Qcow2CreateOptions) throws(DiskImageError) -> Int {
        let clusterSize = options.clusterSize
        guard clusterSize > 0, clusterSize & (clusterSize - 1) == 0,
            clusterSize >= 1 << Qcow2Limits.minimumClusterBits, clusterSize <= 1 << Qcow2Limits.maximumClusterBits
        else {
            throw .invalidArgument("Cluster size must be a power of two between 512 and 2048k")
        }
        let refcountBits = options.refcountBits
        guard refcountBits > 0, refcountBits <= 64, refcountBits & (refcountBits - 1) == 0 else {
            throw .invalidArgument("Refcount width must be a power of two and may not exceed 64 bits")
        }
        let v2 = options.compatibility == .v2
        if v2 && refcountBits != 16 {
            throw .invalidArgument("Different refcount widths than 16 bits require compatibility level 1.1 or above")
        }
        if v2 && options.lazyRefcounts {
            throw .invalidArgument("Lazy refcounts only supported with compatibility level 1.1 and above")
        }
        if v2 && options.compressionType != .zlib {
            throw .invalidArgument("Non-zlib compression type is only supported with compatibility level 1.1 and above")
        }
        if options.extendedL2 {
            if v2 {
                throw .invalidArgument("Extended L2 entries are only supported with compatibility level 1.1 and above")
            }
            guard clusterSize >= 1 << Qcow2Limits.minimumExtendedL2ClusterBits else {
                throw .invalidArgument(
                    "Extended L2 entries are only supported with cluster sizes of at least 16384 bytes")
            }
        }
        if options.backingFile != nil && options.preallocation != .off && !options.extendedL2 {
            throw .invalidArgument(
                "Backing file and preallocation can only be used at the same time if extended_l2 is on")
        }
        if options.backingFormat != nil && options.backingFile == nil {
            throw .invalidArgument("Backing format cannot be used without backing file")
        }
        return clusterSize.trailingZeroBitCount
    }

    /// Maps every guest cluster to a host cluster placed right after its L2 table (qemu-img's layout),
    /// then extends the file over them and, for `falloc` and `full`, reserves or zeroes them. Entries
    /// read as zeroes: the host clusters are fresh, and extended L2 entries leave subclusters unallocated.
    func preallocateLocked(_ mode: ImagePreallocation) throws(DiskImageError) {
        guard mode != .off else { return }
        var guest: UInt64 = 0
        var ranges: [(offset: UInt64, length: UInt64)] = []
        while guest < header.size {
            let l2Offset = try writableL2Table(for: guest)
            let count = min(
                UInt64(geometry.l2Entries - geometry.l2Index(guest)),
                geometry.clusters(for: header.size - guest))
            let host = try allocateClusters(count)
            let table = try loadL2Table(l2Offset)
            for index in 0..<count {
                let entry = Qcow2L2Entry(
                    descriptor: (host + index * geometry.clusterBytes) | Qcow2EntryBits.copied, bitmap: 0)
                table.setL2Entry(geometry.l2Index(guest) + Int(index), entry, geometry: geometry)
            }
            if let last = ranges.last, last.offset + last.length == host {
                ranges[ranges.count - 1].length += count * geometry.clusterBytes
            } else {
                ranges.append((host, count * geometry.clusterBytes))
            }
            guest += count * geometry.clusterBytes
        }
        if let last = ranges.last, last.offset + last.length > fileLength {
            try file.truncate(to: last.offset + last.length)
            fileLength = last.offset + last.length
        }
        switch mode {
        case .falloc:
            for range in ranges { try file.reserve(offset: range.offset, length: range.length) }
        case .full:
            let zeroes = [UInt8](repeating: 0, count: 1 << 20)
            for range in ranges {
                var done: UInt64 = 0
                while done < range.length {
                    let count = Int(min(range.length - done, UInt64(zeroes.count)))
                    try zeroes.withBytes { (buffer) throws(DiskImageError) in
                        try writeFile(
                            at: range.offset + done, from: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                    }
                    done += UInt64(count)
                }
            }
        case .off, .metadata:
            break
        }
        try writeBackMetadata()
    }
}
