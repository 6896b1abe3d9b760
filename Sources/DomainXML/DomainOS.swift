/// `<os>`: what the machine boots. SwiftVirt boots a Linux kernel directly (`kernel`, `initrd`,
/// `cmdline`); `<boot dev=...>` is kept for clients that set it.
public struct DomainOS: Hashable, Sendable {
    /// `<type>` text: only "hvm" (full virtualization) runs on SwiftVirt.
    public var type: String
    /// `<type arch=...>`.
    public var architecture: String
    /// `<type machine=...>`, kept as given (SwiftVirt has one machine model).
    public var machine: String?
    public var kernel: String?
    public var initrd: String?
    public var commandLine: String?
    /// `<boot dev=...>` in order.
    public var bootDevices: [String]
    public internal(set) var unmodeled: UnmodeledXML

    public init(
        type: String = "hvm", architecture: String = "x86_64", machine: String? = nil, kernel: String? = nil,
        initrd: String? = nil, commandLine: String? = nil, bootDevices: [String] = []
    ) {
        self.type = type
        self.architecture = architecture
        self.machine = machine
        self.kernel = kernel
        self.initrd = initrd
        self.commandLine = commandLine
        self.bootDevices = bootDevices
        self.unmodeled = UnmodeledXML()
    }

    func validate() throws(DomainXMLError) {
        guard type == "hvm" else { throw .unsupported("os type '\(type)' is not supported; use 'hvm'") }
        guard architecture == "x86_64" else {
            throw .unsupported("architecture '\(architecture)' is not supported; use 'x86_64'")
        }
        if initrd != nil, kernel == nil {
            throw .invalid("an <initrd> needs a <kernel>")
        }
    }
}
