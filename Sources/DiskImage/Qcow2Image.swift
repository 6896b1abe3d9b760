#if canImport(Glibc)
    import Glibc
#endif

/// A qcow2 image (QEMU docs/interop/qcow2.txt), versions 2 and 3, read and written compatibly with
/// QEMU 7.2: backing chains, zero and compressed (zlib, zstd) clusters, extended L2 entries, any
/// refcount width, lazy refcounts, internal snapshots (read and checked).
///
/// Thread-safe: one lock serializes all access. Metadata (L2 tables, refcount blocks, the L1 and
/// refcount tables) is cached in memory and written back in crash-safe order on `flush`, on eviction
/// and on `close`: data and refcounts before the L2 entries that point at them, L2 tables before the
/// L1 entries, and references are dropped only after the metadata no longer using them is durable.
/// A crash can leak clusters (which `check(repair: .leaks)` reclaims) but never corrupt the image.
public final class Qcow2Image: DiskImage, @unchecked Sendable {
    /// The image file's path as given.
    public let path: String
    public let isReadOnly: Bool
    public var format: DiskImageFormat { .qcow2 }
    public var virtualSize: UInt64 { lock.withLock { header.size } }

    let lock = ImageLock()
    let file: ImageFile
    var header: Qcow2Header
    let geometry: Qcow2Geometry
    /// The active L1 table (host-endian); entries in `dirtyL1Entries` are not yet on disk.
    var l1: [UInt64]
    var dirtyL1Entries: Set<Int> = []
    /// The refcount table (host-endian); entries in `dirtyRefcountTableEntries` are not yet on disk.
    var refcountTable: [UInt64]
    var dirtyRefcountTableEntries: Set<Int> = []
    /// The table the header still points at after `refcountTable` moved; freed once the header moves.
    var replacedRefcountTable: (offset: UInt64, clusters: UInt64)?
    let l2Cache: Qcow2MetadataCache
    let refcountCache: Qcow2MetadataCache
    /// Current length of the file.
    var fileLength: UInt64
    /// New clusters are taken from here on (never below the end of the file).
    var allocationEnd: UInt64
    /// Byte ranges whose clusters each lose one reference once the metadata that used them is durable.
    var pendingReleases: [(offset: UInt64, length: UInt64)] = []
    /// A pwrite happened since the last fdatasync.
    var unsyncedWrites = false
    /// False skips fdatasync at barriers (qemu-img's cache=unsafe, the default of `convert`): writes
    /// keep their order, but nothing is forced to disk, so a host crash may lose or corrupt the image.
    /// Set before use, from one thread.
    public var synchronizesWrites = true
    var snapshots: [Qcow2Snapshot]
    var snapshotTableLength: UInt64
    /// Clusters holding metadata; guest data must never be written over them.
    var metadataClusters: Set<UInt64> = []
    /// Next free byte in a partly filled cluster of compressed data, 0 if none.
    var compressedTail: UInt64 = 0
    /// The last decompressed cluster, for sequential reads inside it.
    var decompressedCache: (cluster: Qcow2CompressedCluster, bytes: [UInt8])?
    let backing: (any DiskImage)?
    var isClosed = false
    /// Sees every write to the image file and every barrier, for crash-consistency tests that replay
    /// them. Set before use, from one thread.
    @_spi(Testing) public var writeObserver: ((Qcow2WriteEvent) -> Void)?

    /// Opens the image at `path` and its backing chain (read-only), at most `backingChainLimit` deep.
    ///
    /// Opened for writing, an image whose dirty bit is set (lazy refcounts after a crash) gets its
    /// refcounts repaired first, as QEMU does; an image marked corrupt is refused unless
    /// `allowCorrupt` (for `check(repair:)`). The image and its backing files are locked for `sharing`.
    /// Without `followSymlinks`, `path` must name a regular file itself, not a symbolic link (backing
    /// files are found as QEMU finds them).
    public convenience init(
        path: String, readOnly: Bool = false, backingChainLimit: Int = 16,
        allowCorrupt: Bool = false, sharing: ImageSharing = .standard, followSymlinks: Bool = true
    ) throws(DiskImageError) {
        try self.init(
            path: path, readOnly: readOnly, backingChainLimit: backingChainLimit, allowCorrupt: allowCorrupt,
            openBacking: true, visited: [], sharing: sharing, backingSharing: sharing, followSymlinks: followSymlinks)
    }

    /// `expectedIdentity`: the file must be that one (create reopening the file it wrote).
    init(
        path: String, readOnly: Bool, backingChainLimit: Int, allowCorrupt: Bool, openBacking: Bool,
        visited: [FileIdentity], sharing: ImageSharing = .standard, backingSharing: ImageSharing = .standard,
        followSymlinks: Bool = true, expectedIdentity: FileIdentity? = nil
    ) throws(DiskImageError) {
        let file = try ImageFile(
            path: path, readOnly: readOnly, locks: try sharing.locks(format: .qcow2, readOnly: readOnly),
            followSymlinks: followSymlinks)
        let fileIdentity = try file.identity()
        if let expectedIdentity, expectedIdentity != fileIdentity {
            throw .invalidArgument("\(path) is no longer the file that was created for the image")
        }
        guard !visited.contains(fileIdentity) else {
            throw .backingChainTooDeep(path: path, limit: backingChainLimit)
        }
        let fileLength = try file.length()

        // The header cluster: read the fixed part to learn the cluster size, then the whole cluster.
        let prefix = try file.readBytes(at: 0, count: Qcow2Header.currentLength)
        guard let clusterBits = Qcow2Header.clusterBits(inPrefix: prefix) else {
            throw .invalidImage(path: path, reason: "no qcow2 magic")
        }
        let headerBytes = min(1 << min(max(Int(clusterBits), 9), Qcow2Limits.maximumClusterBits), 1 << 21)
        let header = try Qcow2Header.parse(
            try file.readBytes(at: 0, count: headerBytes), path: path, fileLength: fileLength)
        if !readOnly && header.incompatibleFeatures.contains(.corrupt) && !allowCorrupt {
            throw .corrupt("the image is marked corrupt and cannot be opened for writing; repair it first")
        }
        let geometry = header.geometry

        // Tables: sizes were bounded and placed inside the file by the header validation.
        let l1Bytes = try file.readBytes(at: header.l1TableOffset, count: Int(header.l1Size) * 8)
        let refcountBytes = try file.readBytes(
            at: header.refcountTableOffset, count: Int(header.refcountTableClusters) << Int(header.clusterBits))
        let (snapshots, snapshotTableLength) = try Self.readSnapshotTable(
            file: file, header: header, geometry: geometry, fileLength: fileLength)

        // The backing chain, read-only, relative names resolved against this image's directory.
        var backing: (any DiskImage)?
        if openBacking, let name = header.backingFile {
            guard backingChainLimit > 0 else { throw .backingChainTooDeep(path: path, limit: backingChainLimit) }
            let format: DiskImageFormat?
            if let formatName = header.backingFormat {
                guard let known = DiskImageFormat(rawValue: formatName) else {
                    throw .notSupported("backing file format '\(formatName)'")
                }
                format = known
            } else {
                format = nil
            }
            backing = try DiskImages.openChain(
                path: DiskImages.resolve(backingFile: name, relativeTo: path), format: format,
                depthLimit: backingChainLimit - 1, visited: visited + [fileIdentity], sharing: backingSharing)
        }

        self.path = path
        self.isReadOnly = readOnly
        self.file = file
        self.header = header
        self.geometry = geometry
        self.l1 = stride(from: 0, to: l1Bytes.count, by: 8).map { l1Bytes.bigEndian64(at: $0) }
        self.refcountTable = stride(from: 0, to: refcountBytes.count, by: 8).map { refcountBytes.bigEndian64(at: $0) }
        self.l2Cache = Qcow2MetadataCache(byteBudget: 4 << 20, tableBytes: geometry.clusterSize, minimum: 4)
        self.refcountCache = Qcow2MetadataCache(byteBudget: 1 << 20, tableBytes: geometry.clusterSize, minimum: 4)
        self.fileLength = fileLength
        self.allocationEnd = geometry.roundUp(fileLength) ?? fileLength
        self.snapshots = snapshots
        self.snapshotTableLength = snapshotTableLength
        self.backing = backing
        collectMetadataClusters()

        if !readOnly {
            try lock.withLock { () throws(DiskImageError) in try prepareForWriting(allowCorrupt: allowCorrupt) }
        }
    }

    deinit {
        if !isClosed { try? closeLocked() }
    }

    /// Reads the snapshot table, growing the read until the entries fit (bounded by the table limit).
    private static func readSnapshotTable(
        file: ImageFile, header: Qcow2Header, geometry: Qcow2Geometry, fileLength: UInt64
    ) throws(DiskImageError) -> ([Qcow2Snapshot], UInt64) {
        guard header.snapshotCount > 0 else { return ([], 0) }
        let available = min(fileLength - header.snapshotsOffset, Qcow2Limits.maximumSnapshotTableBytes)
        var length = min(available, max(UInt64(header.snapshotCount) * 64, 4096))
        while true {
            let table = try file.readBytes(at: header.snapshotsOffset, count: Int(length))
            if let parsed = try Qcow2Snapshot.parseTable(
                table, count: Int(header.snapshotCount), geometry: geometry, fileLength: fileLength,
                isComplete: length >= available)
            {
                return parsed
            }
            length = min(available, length * 2)
        }
    }

    /// Repairs a dirty image and drops autoclear bits this library does not maintain (qcow2 spec
    /// "autoclear_features"), before the first write.
    private func prepareForWriting(allowCorrupt: Bool) throws(DiskImageError) {
        if header.incompatibleFeatures.contains(.dirty) && !allowCorrupt {
            let report = try checkLocked(repair: .all)
            guard report.corruptions == 0, report.checkErrors == 0 else {
                throw .corrupt("the dirty image could not be repaired (\(report.corruptions) corruptions)")
            }
            try setIncompatibleFeature(.dirty, false)
        }
        if header.autoclearFeatures.rawValue != 0 {
            header.autoclearFeatures = []
            header.bitmaps = nil
            var field = [UInt8](repeating: 0, count: 8)
            field.storeBigEndian64(0, at: 0)
            try writeFile(at: UInt64(Qcow2Header.Field.autoclearFeatures), bytes: field)
            try barrier()
        }
    }

    /// Recollects the metadata clusters after tables were replaced.
    func rebuildMetadataClusters() {
        metadataClusters.removeAll()
        collectMetadataClusters()
    }

    /// Every cluster holding metadata reachable from the header, so data writes can be refused there
    /// (QEMU's overlap check).
    private func collectMetadataClusters() {
        let mask = ~geometry.clusterMask
        metadataClusters.insert(0)
        func insertRange(_ offset: UInt64, _ length: UInt64) {
            guard length > 0 else { return }
            var cluster = offset & mask
            while cluster < offset + length {
                metadataClusters.insert(cluster)
                cluster += geometry.clusterBytes
            }
        }
        insertRange(header.l1TableOffset, UInt64(l1.count) * 8)
        insertRange(header.refcountTableOffset, UInt64(header.refcountTableClusters) << UInt64(geometry.clusterBits))
        insertRange(header.snapshotsOffset, snapshotTableLength)
        for snapshot in snapshots { insertRange(snapshot.l1TableOffset, UInt64(snapshot.l1Size) * 8) }
        for entry in l1 where entry & Qcow2EntryBits.offsetMask != 0 {
            metadataClusters.insert(entry & Qcow2EntryBits.offsetMask)
        }
        for entry in refcountTable where entry & Qcow2EntryBits.refcountTableOffsetMask != 0 {
            metadataClusters.insert(entry & Qcow2EntryBits.refcountTableOffsetMask)
        }
    }

    // MARK: DiskImage

    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(DiskImageError) {
        try lock.withLock { () throws(DiskImageError) in
            try checkOpen()
            try checkGuestRange(offset, UInt64(buffer.count))
            try readLocked(at: offset, into: buffer)
        }
    }

    public func write(at offset: UInt64, from buffer: UnsafeRawBufferPointer) throws(DiskImageError) {
        try lock.withLock { () throws(DiskImageError) in
            try checkWritable()
            try checkGuestRange(offset, UInt64(buffer.count))
            try writeLocked(at: offset, from: buffer)
        }
    }

    public func flush() throws(DiskImageError) {
        try lock.withLock { () throws(DiskImageError) in
            try checkOpen()
            guard !isReadOnly else { return }
            try writeBackMetadata()
            try barrier()
        }
    }

    public func discard(at offset: UInt64, length: UInt64) throws(DiskImageError) {
        try lock.withLock { () throws(DiskImageError) in
            try checkWritable()
            try checkGuestRange(offset, length)
            try discardLocked(at: offset, length: length)
        }
    }

    public func writeZeroes(at offset: UInt64, length: UInt64) throws(DiskImageError) {
        try lock.withLock { () throws(DiskImageError) in
            try checkWritable()
            try checkGuestRange(offset, length)
            try writeZeroesLocked(at: offset, length: length)
        }
    }

    public func blockStatus(at offset: UInt64, length: UInt64) throws(DiskImageError) -> BlockStatus {
        try lock.withLock { () throws(DiskImageError) in
            try checkOpen()
            try checkGuestRange(offset, length)
            guard length > 0 else { throw .invalidArgument("block status of an empty range") }
            return try blockStatusLocked(at: offset, length: length)
        }
    }

    // MARK: qcow2 operations

    /// What `qemu-img info` reports about the header.
    public var headerInfo: Qcow2HeaderInfo {
        lock.withLock { Qcow2HeaderInfo(header: header, snapshotCount: snapshots.count) }
    }

    /// The internal snapshots, in table order.
    public var snapshotList: [Qcow2SnapshotInfo] {
        lock.withLock {
            snapshots.map {
                Qcow2SnapshotInfo(
                    id: $0.id, name: $0.name, dateSeconds: $0.dateSeconds, dateNanoseconds: $0.dateNanoseconds,
                    vmClockNanoseconds: $0.vmClockNanoseconds, vmStateSize: $0.vmStateSize, diskSize: $0.diskSize,
                    instructionCount: $0.instructionCount)
            }
        }
    }

    /// The opened backing image, if any.
    public var backingImage: (any DiskImage)? { backing }

    /// Stores one guest cluster compressed (for `convert -c`). `offset` is cluster aligned and `data` is
    /// one cluster, or the shorter tail at the end of the disk. Data that does not shrink is stored
    /// uncompressed, as QEMU does. The compression itself runs outside the image's lock, so callers on
    /// several threads compress in parallel.
    public func writeCompressed(at offset: UInt64, from data: UnsafeRawBufferPointer) throws(DiskImageError) {
        try checkCompressedRequest(at: offset, count: data.count)
        let type = lock.withLock { header.compressionType }
        let compressed = Self.compressCluster(data, clusterSize: geometry.clusterSize, type: type)
        try lock.withLock { () throws(DiskImageError) in
            try checkWritable()
            try checkGuestRange(offset, UInt64(data.count))
            try writeCompressedLocked(at: offset, from: data, compressed: compressed)
        }
    }

    /// Changes the virtual size. Growing maps the new space as zeroes; shrinking is refused while data
    /// is stored beyond the new end. Sizes are multiples of 512. Snapshots keep their own size (each
    /// records it), as in QEMU.
    public func resize(to newSize: UInt64) throws(DiskImageError) {
        try lock.withLock { () throws(DiskImageError) in
            try checkWritable()
            try resizeLocked(to: newSize)
        }
    }

    /// Checks refcounts against the metadata (as `qemu-img check` does) and optionally repairs them.
    public func check(repair: Qcow2RepairMode = .none) throws(DiskImageError) -> Qcow2CheckReport {
        try lock.withLock { () throws(DiskImageError) in
            try checkOpen()
            if repair != .none && isReadOnly { throw .readOnly }
            return try checkLocked(repair: repair)
        }
    }

    /// Writes everything back, clears the dirty bit set for lazy refcounts, and syncs. Later calls throw
    /// `.closed`. Called by deinit when forgotten (errors are then lost).
    public func close() throws(DiskImageError) {
        try lock.withLock { () throws(DiskImageError) in try closeLocked() }
    }

    func closeLocked() throws(DiskImageError) {
        guard !isClosed else { return }
        defer {
            isClosed = true
            // Reopening the file in this process must not meet this object's locks.
            file.releaseLocks()
        }
        guard !isReadOnly else { return }
        try writeBackMetadata()
        if header.incompatibleFeatures.contains(.dirty) {
            try barrier()
            try setIncompatibleFeature(.dirty, false)
        }
        try barrier()
    }

    // MARK: Checks

    func checkOpen() throws(DiskImageError) {
        guard !isClosed else { throw .closed }
    }

    func checkWritable() throws(DiskImageError) {
        try checkOpen()
        guard !isReadOnly else { throw .readOnly }
    }

    /// The range lies inside the virtual disk (lock held).
    func checkGuestRange(_ offset: UInt64, _ length: UInt64) throws(DiskImageError) {
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard !overflow, end <= header.size else {
            throw .outOfRange(offset: offset, length: length, size: header.size)
        }
    }
}
