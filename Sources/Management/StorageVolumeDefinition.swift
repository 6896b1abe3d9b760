import DiskImage
import DomainXML
import LibvirtProtocol

/// A volume to create (`<volume>`, https://libvirt.org/formatstorage.html#storage-volume-xml): what
/// `vol-create`, `vol-create-as` and `vol-clone` send. Elements that describe an existing volume
/// (`<key>`, `<target><path>`, sizes on disk) are ignored, as libvirt ignores them on creation.
public struct StorageVolumeDefinition: Hashable, Sendable {
    /// Volume formats libvirt knows for directory pools that SwiftVirt does not create.
    static let unsupportedFormats: Set<String> = [
        "none", "dir", "bochs", "cloop", "dmg", "iso", "vpc", "vdi", "fat", "vhd", "ploop", "cow", "qcow", "qed",
        "vmdk",
    ]
    /// Volume types libvirt knows other than "file".
    static let unsupportedTypes: Set<String> = ["block", "dir", "network", "netdir", "ploop"]

    public var name: String
    /// Bytes.
    public var capacity: UInt64
    /// Bytes; nil when not given (libvirt then means "as much as the capacity").
    public var allocation: UInt64?
    /// nil when not given: raw for a new volume, the source's format for a clone.
    public var format: DiskImageFormat?
    public var permissions: StoragePermissions
    /// qcow2 `<compat>`: "0.10" or "1.1".
    public var compatibility: Qcow2CreateOptions.Compatibility?
    /// qcow2 `<features><lazy_refcounts/>`.
    public var lazyRefcounts: Bool

    public init(
        name: String, capacity: UInt64, allocation: UInt64? = nil, format: DiskImageFormat? = nil,
        permissions: StoragePermissions = StoragePermissions(),
        compatibility: Qcow2CreateOptions.Compatibility? = nil, lazyRefcounts: Bool = false
    ) {
        self.name = name
        self.capacity = capacity
        self.allocation = allocation
        self.format = format
        self.permissions = permissions
        self.compatibility = compatibility
        self.lazyRefcounts = lazyRefcounts
    }

    public static func parse(_ xml: String) throws(LibvirtError) -> StorageVolumeDefinition {
        let root = try StorageXML.root(xml, expecting: "volume", document: "storage_volume_definition")
        if let type = root.attribute("type"), type != "file" {
            guard unsupportedTypes.contains(type) else {
                throw .configUnsupported("unknown volume type '\(type)'", domain: .storage)
            }
            throw .noSupport(
                "volume type '\(type)' is not supported; directory pools hold 'file' volumes", domain: .storage)
        }
        guard let name = StorageXML.text(root.firstChild("name")) else {
            throw .xmlError("missing volume name element", domain: .storage)
        }
        guard let capacityElement = root.firstChild("capacity") else {
            throw .xmlError("missing capacity element", domain: .storage)
        }
        let capacity = try StorageXML.size(capacityElement)
        let allocation = try root.firstChild("allocation").map { (element) throws(LibvirtError) in
            try StorageXML.size(element)
        }
        if let backing = root.firstChild("backingStore"), !backing.children.isEmpty {
            throw .noSupport("volumes with a backing store are not supported", domain: .storage)
        }
        let target = root.firstChild("target")
        var format: DiskImageFormat?
        if let type = target?.firstChild("format")?.attribute("type") {
            guard let known = DiskImageFormat(rawValue: type) else {
                guard unsupportedFormats.contains(type) else {
                    throw .configUnsupported("unknown volume format type \(type)", domain: .storage)
                }
                throw .noSupport("volume format '\(type)' is not supported; use 'raw' or 'qcow2'", domain: .storage)
            }
            format = known
        }
        var compatibility: Qcow2CreateOptions.Compatibility?
        if let compat = StorageXML.text(target?.firstChild("compat")) {
            guard let known = Qcow2CreateOptions.Compatibility(rawValue: compat) else {
                throw .xmlError("forbidden characters in 'compat' attribute", domain: .storage)
            }
            compatibility = known
        }
        return StorageVolumeDefinition(
            name: name, capacity: capacity, allocation: allocation, format: format,
            permissions: try StoragePermissions.parse(target?.firstChild("permissions")),
            compatibility: compatibility,
            lazyRefcounts: target?.firstChild("features")?.firstChild("lazy_refcounts") != nil)
    }
}
