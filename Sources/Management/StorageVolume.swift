import DiskImage
import DomainXML
import LibvirtProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// A volume as found in its pool's directory: a regular file whose format is probed and whose sizes
/// come from the image (qcow2 virtual size) and the file system (blocks in use).
public struct StorageVolume: Hashable, Sendable {
    /// The qcow2 header fields libvirt shows in a volume's `<target>`.
    struct Qcow2Details: Hashable, Sendable {
        var compat: String
        var clusterSize: Int
        var lazyRefcounts: Bool
    }

    public var pool: String
    public var name: String
    public var path: String
    public var format: DiskImageFormat
    /// The guest-visible size in bytes.
    public var capacity: UInt64
    /// Bytes the file takes on disk (st_blocks * 512).
    public var allocation: UInt64
    /// The file's length.
    public var physical: UInt64
    var permissions: StoragePermissions
    var qcow2: Qcow2Details?

    /// A dir pool's volume key is its path, as libvirt's.
    public var key: String { path }

    /// Reads the volume at `path`, which must be a regular file (a symbolic link or anything else that
    /// appeared in the directory is not a volume). An image whose header cannot be read still shows, with
    /// its file length as capacity, so it can be found and deleted.
    static func read(pool: String, name: String, path: String) throws(SystemCallError) -> StorageVolume {
        let status = try HostFiles.status(path)
        guard status.kind == .regular else { throw SystemCallError("lstat", path, errno: ENOENT) }
        var volume = StorageVolume(
            pool: pool, name: name, path: path, format: .raw, capacity: status.size, allocation: status.allocated,
            physical: status.size, permissions: StoragePermissions(status), qcow2: nil)
        // Opened without following a symbolic link: one swapped in after the lstat is not read through.
        guard (try? DiskImages.probeFormat(path: path, followSymlinks: false)) == .qcow2 else { return volume }
        volume.format = .qcow2
        if let image = try? Qcow2Image.openIgnoringBacking(path: path, sharing: .forceShare, followSymlinks: false) {
            let header = image.headerInfo
            try? image.close()
            volume.capacity = header.virtualSize
            volume.qcow2 = Qcow2Details(
                compat: header.compat, clusterSize: header.clusterSize, lazyRefcounts: header.lazyRefcounts)
        }
        return volume
    }

    public var remote: RemoteStorageVolume { RemoteStorageVolume(pool: pool, name: name, key: key) }

    /// virStorageVolInfo: type file (0), capacity, allocation.
    public var info: StorageVolumeInfoReply {
        StorageVolumeInfoReply(type: 0, capacity: capacity, allocation: allocation)
    }

    /// libvirt-shaped volume XML.
    public var xml: String {
        var target = XMLTreeElement(
            name: "target",
            children: [
                XMLTreeElement(name: "path", text: path),
                XMLTreeElement(name: "format", attributes: [XMLAttribute("type", format.rawValue)]),
            ])
        if let permissions = permissions.element { target.children.append(permissions) }
        if let qcow2 {
            target.children.append(XMLTreeElement(name: "compat", text: qcow2.compat))
            target.children.append(
                XMLTreeElement(
                    name: "clusterSize", attributes: [XMLAttribute("unit", "B")], text: String(qcow2.clusterSize)))
            target.children.append(
                XMLTreeElement(
                    name: "features", children: qcow2.lazyRefcounts ? [XMLTreeElement(name: "lazy_refcounts")] : []))
        }
        let root = XMLTreeElement(
            name: "volume", attributes: [XMLAttribute("type", "file")],
            children: [
                XMLTreeElement(name: "name", text: name),
                XMLTreeElement(name: "key", text: key),
                StorageXML.sizeElement("capacity", capacity),
                StorageXML.sizeElement("allocation", allocation),
                StorageXML.sizeElement("physical", physical),
                target,
            ])
        return root.formatted
    }
}
