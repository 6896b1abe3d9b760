/// Operations on the image as a layer of a backing chain, for the image tool: opening it without its
/// backing file, pointing it at another one (`rebase`), and emptying it (`commit`).
extension Qcow2Image {
    /// Opens only this image, read-only, leaving its backing file closed: for reading the header and
    /// metadata of an image whose backing file may be missing (`info`, `rebase -u`). Ranges the image
    /// does not map read as zeroes.
    public static func openIgnoringBacking(
        path: String, sharing: ImageSharing = .standard, followSymlinks: Bool = true
    ) throws(DiskImageError) -> Qcow2Image {
        try Qcow2Image(
            path: path, readOnly: true, backingChainLimit: 0, allowCorrupt: false, openBacking: false, visited: [],
            sharing: sharing, followSymlinks: followSymlinks)
    }

    /// Records another backing file (or none) and its format in the header (qcow2 spec "Header",
    /// backing_file_offset; "Backing file format name" extension). The header cluster is rewritten in
    /// one write with its extensions, as QEMU's qcow2_update_header does; guest data is not touched,
    /// so the caller makes sure the image reads the same over the new backing file.
    public static func changeBackingFile(
        path: String, to backingFile: String?, format: String?
    ) throws(DiskImageError) {
        if let backingFile, backingFile.utf8.count > Qcow2Limits.maximumBackingFileNameLength {
            throw .invalidArgument("backing file name is longer than 1023 bytes")
        }
        if let format, format.utf8.count > Qcow2Limits.maximumBackingFormatLength {
            throw .invalidArgument("backing format name '\(format)' is too long")
        }
        let image = try Qcow2Image(
            path: path, readOnly: false, backingChainLimit: 0, allowCorrupt: false, openBacking: false, visited: [])
        try image.lock.withLock { () throws(DiskImageError) in
            try image.writeBackMetadata()
            try image.barrier()
            var header = image.header
            header.backingFile = backingFile?.isEmpty == true ? nil : backingFile
            header.backingFormat = header.backingFile == nil ? nil : format
            var bytes = try header.encoded()
            bytes += [UInt8](repeating: 0, count: image.geometry.clusterSize - bytes.count)
            try image.writeFile(at: 0, bytes: bytes)
            try image.barrier()
            image.header = header
            try image.closeLocked()
        }
    }

    /// Drops every cluster the active layer maps, so the whole disk reads from the backing file again
    /// (`commit` after the data went down; QEMU's bdrv_make_empty). The zeroed L1 table is durable
    /// before any reference is dropped, so a crash can only leak clusters. Snapshots keep their data.
    public func makeEmpty() throws(DiskImageError) {
        try lock.withLock { () throws(DiskImageError) in
            try checkWritable()
            try prepareForChange()
            try writeBackMetadata()
            try barrier()
            let oldL1 = l1
            guard oldL1.contains(where: { $0 & Qcow2EntryBits.offsetMask != 0 }) else { return }
            try writeFile(at: header.l1TableOffset, bytes: [UInt8](repeating: 0, count: l1.count * 8))
            try barrier()
            l1 = [UInt64](repeating: 0, count: oldL1.count)
            dirtyL1Entries.removeAll()
            decompressedCache = nil
            var freed: [UInt64] = []
            for entry in oldL1 {
                let l2Offset = entry & Qcow2EntryBits.offsetMask
                guard l2Offset != 0 else { continue }
                let table = try loadL2Table(l2Offset)
                for index in 0..<geometry.l2Entries {
                    let l2Entry = table.l2Entry(index, geometry: geometry)
                    if l2Entry.isCompressed {
                        let range = Qcow2CompressedCluster(entry: l2Entry.descriptor, geometry: geometry)
                            .referencedRange
                        try releaseClusters(range.start, range.length, freed: &freed)
                    } else if l2Entry.hostOffset != 0 {
                        try releaseClusters(l2Entry.hostOffset, geometry.clusterBytes, freed: &freed)
                    }
                }
                try releaseClusters(l2Offset, geometry.clusterBytes, freed: &freed)
            }
            try writeBackMetadata()
            try barrier()
            for cluster in freed { file.punchHole(offset: cluster, length: geometry.clusterBytes) }
            rebuildMetadataClusters()
        }
    }
}
