import DomainXML
import LibvirtProtocol

/// `<permissions>` of a pool's directory or a volume's file (https://libvirt.org/formatstorage.html):
/// what is given is applied when the directory or file is made; what is not is left to defaults.
public struct StoragePermissions: Hashable, Sendable {
    /// Permission bits, at most 0o777 as libvirt accepts.
    public var mode: UInt32?
    public var owner: UInt32?
    public var group: UInt32?
    /// An SELinux label: kept and shown, never applied.
    public var label: String?

    public init(mode: UInt32? = nil, owner: UInt32? = nil, group: UInt32? = nil, label: String? = nil) {
        self.mode = mode
        self.owner = owner
        self.group = group
        self.label = label
    }

    /// Reads `<permissions>`; nil gives empty permissions.
    static func parse(_ element: XMLTreeElement?) throws(LibvirtError) -> StoragePermissions {
        guard let element else { return StoragePermissions() }
        var result = StoragePermissions()
        if let text = element.firstChild("mode")?.text.trimmingWhitespace {
            guard let mode = UInt32(text, radix: 8), mode <= 0o777 else {
                throw .xmlError("malformed octal mode", domain: .storage)
            }
            result.mode = mode
        }
        result.owner = try id(element, "owner")
        result.group = try id(element, "group")
        result.label = element.firstChild("label")?.text
        return result
    }

    /// A uid or gid; libvirt's -1 means "unset".
    private static func id(_ element: XMLTreeElement, _ name: String) throws(LibvirtError) -> UInt32? {
        guard let text = element.firstChild(name)?.text.trimmingWhitespace else { return nil }
        if text == "-1" { return nil }
        guard let value = UInt32(text), value != UInt32.max else {
            throw .xmlError("malformed \(name) element", domain: .storage)
        }
        return value
    }

    /// `<permissions>` as libvirt prints it (mode in four octal digits), or nil when nothing is set.
    var element: XMLTreeElement? {
        var children: [XMLTreeElement] = []
        if let mode { children.append(XMLTreeElement(name: "mode", text: Self.octal(mode))) }
        if let owner { children.append(XMLTreeElement(name: "owner", text: String(owner))) }
        if let group { children.append(XMLTreeElement(name: "group", text: String(group))) }
        if let label { children.append(XMLTreeElement(name: "label", text: label)) }
        return children.isEmpty ? nil : XMLTreeElement(name: "permissions", children: children)
    }

    /// What a file actually has, with the label kept from the definition.
    init(_ status: FileStatus, label: String? = nil) {
        self.init(mode: status.mode, owner: status.owner, group: status.group, label: label)
    }

    private static func octal(_ mode: UInt32) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
