import DomainXML
import LibvirtProtocol

/// A libvirt storage pool description (`<pool type='dir'>`, https://libvirt.org/formatstorage.html)
/// as a validated value. SwiftVirt has one pool type, a directory of image files; `parse` refuses the
/// others libvirt knows with VIR_ERR_NO_SUPPORT.
public struct StoragePoolDefinition: Hashable, Sendable {
    /// Pool types libvirt defines that SwiftVirt does not implement.
    static let unsupportedTypes: Set<String> = [
        "fs", "netfs", "logical", "disk", "iscsi", "iscsi-direct", "scsi", "mpath", "rbd", "sheepdog", "gluster",
        "zfs", "vstorage",
    ]

    public var name: String
    public var uuid: DomainUUID
    /// `<target><path>`: the pool's directory, absolute and cleaned.
    public var targetPath: String
    /// `<target><permissions>`: applied by `build`.
    public var permissions: StoragePermissions

    public init(
        name: String, uuid: DomainUUID = .random(), targetPath: String,
        permissions: StoragePermissions = StoragePermissions()
    ) {
        self.name = name
        self.uuid = uuid
        self.targetPath = StoragePath.clean(targetPath)
        self.permissions = permissions
    }

    /// Parses and validates pool XML.
    public static func parse(_ xml: String) throws(LibvirtError) -> StoragePoolDefinition {
        let root = try StorageXML.root(xml, expecting: "pool", document: "storage_pool_definition")
        guard let type = root.attribute("type") else {
            throw .xmlError("Missing required attribute 'type' in element 'pool'", domain: .storage)
        }
        guard type == "dir" else {
            if unsupportedTypes.contains(type) {
                throw .noSupport(
                    "storage pool type '\(type)' is not supported by SwiftVirt; use type 'dir' (a directory of "
                        + "image files)", domain: .storage)
            }
            throw .configUnsupported(
                "Invalid value for attribute 'type' in element 'pool': '\(type)'.", domain: .storage)
        }
        guard let name = StorageXML.text(root.firstChild("name")) else {
            throw .xmlError("missing pool source name element", domain: .storage)
        }
        guard !name.contains("/") else { throw .xmlError("name \(name) cannot contain '/'", domain: .storage) }
        var uuid = DomainUUID.random()
        if let text = StorageXML.text(root.firstChild("uuid")) {
            guard let parsed = DomainUUID(string: text) else {
                throw .xmlError("malformed uuid element", domain: .storage)
            }
            uuid = parsed
        }
        let target = root.firstChild("target")
        guard let path = StorageXML.text(target?.firstChild("path")) else {
            throw .xmlError("missing storage pool target path", domain: .storage)
        }
        guard path.hasPrefix("/") else {
            throw .xmlError("storage pool target path '\(path)' must be absolute", domain: .storage)
        }
        return StoragePoolDefinition(
            name: name, uuid: uuid, targetPath: path,
            permissions: try StoragePermissions.parse(target?.firstChild("permissions")))
    }

    /// libvirt-shaped XML. An active pool shows its file system's sizes and its directory's actual
    /// permissions; an inactive one zeroes and what was defined.
    func xml(space: FileSystemSpace = .zero, directory: FileStatus? = nil) -> String {
        var target = XMLTreeElement(name: "target", children: [XMLTreeElement(name: "path", text: targetPath)])
        let shown = directory.map { StoragePermissions($0, label: permissions.label) } ?? permissions
        if let element = shown.element { target.children.append(element) }
        let root = XMLTreeElement(
            name: "pool", attributes: [XMLAttribute("type", "dir")],
            children: [
                XMLTreeElement(name: "name", text: name),
                XMLTreeElement(name: "uuid", text: uuid.description),
                StorageXML.sizeElement("capacity", space.capacity),
                StorageXML.sizeElement("allocation", space.allocation),
                StorageXML.sizeElement("available", space.available),
                XMLTreeElement(name: "source"),
                target,
            ])
        return root.formatted
    }
}
