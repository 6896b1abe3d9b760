/// Opening images by path: format probing and backing chains.
public enum DiskImages {
    /// Opens `path` as `format`, or as the probed format when nil. qcow2 images open their backing chain
    /// read-only, at most `backingChainLimit` images deep. The image is locked for `sharing`, its backing
    /// files for `backingSharing` (the same when nil). Without `followSymlinks`, `path` must name a
    /// regular file itself, not a symbolic link.
    public static func open(
        path: String, format: DiskImageFormat? = nil, readOnly: Bool,
        backingChainLimit: Int = 16, sharing: ImageSharing = .standard, backingSharing: ImageSharing? = nil,
        followSymlinks: Bool = true
    ) throws(DiskImageError) -> any DiskImage {
        let format = if let format { format } else { try probeFormat(path: path, followSymlinks: followSymlinks) }
        switch format {
        case .raw:
            return try RawImage(path: path, readOnly: readOnly, sharing: sharing, followSymlinks: followSymlinks)
        case .qcow2:
            return try Qcow2Image(
                path: path, readOnly: readOnly, backingChainLimit: backingChainLimit, allowCorrupt: false,
                openBacking: true, visited: [], sharing: sharing, backingSharing: backingSharing ?? sharing,
                followSymlinks: followSymlinks)
        }
    }

    /// qcow2 when the file starts with the qcow2 magic, raw otherwise (as QEMU probes these two).
    public static func probeFormat(path: String, followSymlinks: Bool = true) throws(DiskImageError)
        -> DiskImageFormat
    {
        let file = try ImageFile(path: path, readOnly: true, followSymlinks: followSymlinks)
        let prefix = try file.readBytes(at: 0, count: 4)
        return prefix.bigEndian32(at: 0) == Qcow2Header.magic ? .qcow2 : .raw
    }

    /// A backing file name as QEMU resolves it: absolute names as they are, relative ones against the
    /// directory of the image naming them.
    public static func resolve(backingFile: String, relativeTo imagePath: String) -> String {
        guard !backingFile.hasPrefix("/"), let slash = imagePath.lastIndex(of: "/") else { return backingFile }
        return String(imagePath[...slash]) + backingFile
    }

    /// Opens one backing image read-only, with `depthLimit` more images allowed below it.
    static func openChain(
        path: String, format: DiskImageFormat?, depthLimit: Int, visited: [FileIdentity], sharing: ImageSharing
    ) throws(DiskImageError) -> any DiskImage {
        let format = if let format { format } else { try probeFormat(path: path) }
        switch format {
        case .raw:
            return try RawImage(path: path, readOnly: true, sharing: sharing)
        case .qcow2:
            return try Qcow2Image(
                path: path, readOnly: true, backingChainLimit: depthLimit, allowCorrupt: false, openBacking: true,
                visited: visited, sharing: sharing, backingSharing: sharing)
        }
    }
}
