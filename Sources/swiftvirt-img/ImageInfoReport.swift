import DiskImage

#if canImport(Glibc)
    import Glibc
#endif

/// What `info` reports about one image (QEMU's ImageInfo), gathered without opening its backing file.
struct ImageInfoReport {
    var filename: String
    var format: DiskImageFormat
    var virtualSize: UInt64
    /// Bytes the file occupies on the host (st_blocks × 512), nil if unknown.
    var actualSize: UInt64?
    var header: Qcow2HeaderInfo?
    var snapshots: [Qcow2SnapshotInfo] = []

    /// Opens `path` alone (as `formatName`, or probed), locked for `sharing`, and reads what `info` shows.
    static func collect(path: String, formatName: String?, sharing: ImageSharing) throws(ToolError) -> ImageInfoReport {
        let format = try ImageOpener.format(of: path, formatName: formatName)
        do {
            switch format {
            case .raw:
                let image = try RawImage(path: path, readOnly: true, sharing: sharing)
                // QEMU counts whole sectors: a file of 1000 bytes is a 1024-byte raw disk.
                let sectors = image.virtualSize / 512 + (image.virtualSize % 512 == 0 ? 0 : 1)
                return ImageInfoReport(
                    filename: path, format: .raw, virtualSize: sectors * 512, actualSize: allocatedBytes(path))
            case .qcow2:
                let image = try Qcow2Image.openIgnoringBacking(path: path, sharing: sharing)
                return ImageInfoReport(
                    filename: path, format: .qcow2, virtualSize: image.virtualSize, actualSize: allocatedBytes(path),
                    header: image.headerInfo, snapshots: image.snapshotList)
            }
        } catch {
            throw ImageOpener.failure(path, error)
        }
    }

    /// st_blocks × 512, as QEMU's file driver reports the allocated size.
    static func allocatedBytes(_ path: String) -> UInt64? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return UInt64(status.st_blocks) * 512
    }

    var backingFilename: String? { header?.backingFile }

    /// The backing file's path as opened: relative names are taken from this image's directory.
    var fullBackingFilename: String? {
        backingFilename.map { DiskImages.resolve(backingFile: $0, relativeTo: filename) }
    }

    /// The ImageInfo object, members added in QAPI order (the printer reorders them like QEMU).
    var json: QemuJSONObject {
        var object = QemuJSONObject()
        object.set("filename", .string(filename))
        object.set("format", .string(format.rawValue))
        object.set("dirty-flag", .bool(header?.dirty ?? false))
        if let actualSize { object.set("actual-size", .unsigned(actualSize)) }
        object.set("virtual-size", .unsigned(virtualSize))
        if let header { object.set("cluster-size", .integer(Int64(header.clusterSize))) }
        if let backingFilename { object.set("backing-filename", .string(backingFilename)) }
        if let fullBackingFilename { object.set("full-backing-filename", .string(fullBackingFilename)) }
        if let backingFormat = header?.backingFormat {
            object.set("backing-filename-format", .string(backingFormat))
        }
        if !snapshots.isEmpty { object.set("snapshots", .array(snapshots.map { .object(SnapshotTable.json($0)) })) }
        if let specific = formatSpecific {
            var wrapper = QemuJSONObject()
            wrapper.set("type", .string("qcow2"))
            wrapper.set("data", .object(specific))
            object.set("format-specific", .object(wrapper))
        }
        return object
    }

    /// ImageInfoSpecificQCow2: version 3 adds lazy refcounts, the corrupt bit and extended L2.
    var formatSpecific: QemuJSONObject? {
        guard let header else { return nil }
        var data = QemuJSONObject()
        data.set("compat", .string(header.compat))
        if header.version >= 3 {
            data.set("lazy-refcounts", .bool(header.lazyRefcounts))
            data.set("corrupt", .bool(header.corrupt))
        }
        data.set("refcount-bits", .integer(Int64(header.refcountBits)))
        data.set("compression-type", .string(header.compressionType.description))
        if header.version >= 3 { data.set("extended-l2", .bool(header.extendedL2)) }
        return data
    }

    /// bdrv_image_info_dump's text.
    var human: String {
        var text = "image: \(filename)\n"
        text += "file format: \(format.rawValue)\n"
        text += "virtual size: \(HumanSize.string(virtualSize)) (\(virtualSize) bytes)\n"
        text += "disk size: \(actualSize.map(HumanSize.string) ?? "unavailable")\n"
        if let header {
            text += "cluster_size: \(header.clusterSize)\n"
            if header.dirty { text += "cleanly shut down: no\n" }
        }
        if let backingFilename {
            text += "backing file: \(backingFilename)"
            if let full = fullBackingFilename, full != backingFilename { text += " (actual path: \(full))" }
            text += "\n"
            if let backingFormat = header?.backingFormat { text += "backing file format: \(backingFormat)\n" }
        }
        if !snapshots.isEmpty {
            text += "Snapshot list:\n" + SnapshotTable.header + "\n"
            for snapshot in snapshots { text += SnapshotTable.row(snapshot) + "\n" }
        }
        if let formatSpecific {
            text += "Format specific information:\n" + HumanQObject.dump(formatSpecific, indentation: 1)
        }
        return text
    }
}
