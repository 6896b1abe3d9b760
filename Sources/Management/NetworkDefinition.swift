import DomainXML
import LibvirtProtocol

/// A libvirt virtual network (`<network>`, formatdomain's sibling formatnetwork): a host bridge the
/// daemon creates for NAT and isolated networks, or an existing host bridge for `<forward
/// mode='bridge'/>`. Parsed and validated before anything touches the host: every value that later
/// reaches an ioctl, an nft rule or a dnsmasq configuration line is checked here.
public struct NetworkDefinition: Hashable, Sendable {
    public enum Forward: Hashable, Sendable {
        /// No `<forward>`: guests reach each other and the host, nothing else.
        case isolated
        /// `<forward mode='nat'>` (or a bare `<forward/>`): masqueraded to the host's uplink, through
        /// `device` only if given; `ports` is the source port range masquerading may use.
        case nat(device: String?, ports: ClosedRange<UInt16>?)
        /// `<forward mode='bridge'/>`: an existing host bridge, which the daemon only attaches taps to.
        case bridge
    }

    /// `<dhcp><host mac= ip= name=/>`: a fixed lease.
    public struct DHCPHost: Hashable, Sendable {
        public var macAddress: MACAddress
        public var address: IPv4Address
        public var hostName: String?
    }

    /// `<ip address= netmask=|prefix=>` with its `<dhcp>`.
    public struct IPConfiguration: Hashable, Sendable {
        public var interface: IPv4Interface
        /// Whether the XML said `netmask=` (kept for a faithful `net-dumpxml`).
        public var writtenAsNetmask: Bool
        public var dhcpRanges: [ClosedRange<IPv4Address>]
        public var dhcpHosts: [DHCPHost]

        /// Whether dnsmasq serves DHCP on the network.
        public var servesDHCP: Bool { !dhcpRanges.isEmpty || !dhcpHosts.isEmpty }
    }

    public var name: String
    public var uuid: DomainUUID
    public var forward: Forward
    /// The Linux bridge; for NAT and isolated networks it is assigned at definition if not given.
    public var bridgeName: String?
    /// `<bridge stp=>`: spanning tree on the bridge the daemon creates (libvirt's default is on).
    public var spanningTree: Bool
    /// `<bridge delay=>`: the bridge's forward delay in seconds.
    public var forwardDelay: UInt32
    /// `<mac address=>`: the bridge's own address.
    public var macAddress: MACAddress?
    public var ip: IPConfiguration?
    /// Top-level elements SwiftVirt does not act on (`<title>`, `<description>`, `<metadata>`,
    /// `<domain>`, `<dns>`), kept so `net-dumpxml` returns them.
    public var unmodeled: [XMLTreeElement]

    /// Whether the daemon creates (and removes) the bridge, its firewall table and dnsmasq.
    public var ownsBridge: Bool { forward != .bridge }

    /// The longest network name: it names files in the state and run directories.
    static let maxNameLength = 200
    /// Bridge names the daemon creates go into nft rules and dnsmasq's configuration, so they are
    /// kept to letters, digits, '_', '-' and '.' (a subset of what the kernel takes).
    static func isSafeBridgeName(_ name: String) -> Bool {
        HostNetwork.isValidName(name)
            && name.utf8.allSatisfy {
                ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7a) || $0 == 0x5f || $0 == 0x2d
                    || $0 == 0x2e
            }
    }

    /// A host name in a `<dhcp><host name=>`: RFC 1123 labels, since it goes into dnsmasq's
    /// configuration as is.
    static func isValidHostName(_ name: String) -> Bool {
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard name.utf8.count <= 253, !labels.isEmpty else { return false }
        return labels.allSatisfy { label in
            (1...63).contains(label.utf8.count) && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.utf8.allSatisfy {
                    ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7a) || $0 == 0x2d
                }
        }
    }

    /// Checks what the parser cannot check element by element: the network name, the bridge, and that
    /// every DHCP address lies inside the network.
    func validate() throws(NetworkDefinitionError) {
        guard !name.isEmpty else { throw .missingName }
        guard !name.contains("/") else { throw .invalid("name \(name) cannot contain '/'") }
        guard !name.hasPrefix("."), name.utf8.count <= Self.maxNameLength,
            !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f })
        else {
            throw .invalid(
                "network name '\(name)' is not supported: it must not start with '.', contain control characters "
                    + "or be longer than \(Self.maxNameLength) bytes")
        }
        if let bridgeName {
            let valid = ownsBridge ? Self.isSafeBridgeName(bridgeName) : HostNetwork.isValidName(bridgeName)
            guard valid else {
                throw .invalid(
                    "bridge name '\(bridgeName)' is not a valid interface name: at most "
                        + "\(HostNetwork.nameCapacity - 1) bytes"
                        + (ownsBridge ? " of letters, digits, '_', '-' and '.'" : ", without '/', ':' or whitespace"))
            }
        }
        if let macAddress, macAddress.isMulticast {
            throw .invalid("bridge mac address '\(macAddress)' must not be multicast")
        }
        switch forward {
        case .bridge:
            guard bridgeName != nil else {
                throw .invalid("network '\(name)' has forward mode 'bridge' but no <bridge name='...'/>")
            }
            guard ip == nil else {
                throw .unsupported("<ip> is not allowed in network '\(name)' with forward mode 'bridge'")
            }
        case .nat(let device, _):
            if let device, !Self.isSafeBridgeName(device) {
                throw .invalid("forward dev '\(device)' is not a valid interface name")
            }
        case .isolated:
            break
        }
        if let ip { try validate(ip) }
    }

    private func validate(_ ip: IPConfiguration) throws(NetworkDefinitionError) {
        let interface = ip.interface
        if interface.prefixLength < 31,
            interface.address == interface.network || interface.address == interface.broadcast
        {
            throw .invalid(
                "address \(interface.address) of network '\(name)' is its subnet's network or broadcast address")
        }
        for range in ip.dhcpRanges {
            guard interface.contains(range.lowerBound), interface.contains(range.upperBound) else {
                throw .invalid(
                    "range \(range.lowerBound) - \(range.upperBound) is not entirely within network \(interface.subnet)"
                )
            }
            if interface.prefixLength < 31,
                range.contains(interface.network) || range.contains(interface.broadcast)
            {
                throw .invalid(
                    "range \(range.lowerBound) - \(range.upperBound) includes the network or broadcast address "
                        + "of \(interface.subnet)")
            }
        }
        var macs: Set<MACAddress> = []
        for host in ip.dhcpHosts {
            guard interface.contains(host.address) else {
                throw .invalid("host address \(host.address) is not within network \(interface.subnet)")
            }
            guard macs.insert(host.macAddress).inserted else {
                throw .invalid("there is already a host entry with mac \(host.macAddress) in network '\(name)'")
            }
        }
    }
}

/// Why a network description was refused, with the libvirt error a client sees.
public enum NetworkDefinitionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Not well-formed XML.
    case malformed(line: Int, reason: String)
    /// Well-formed but not a valid network (VIR_ERR_XML_ERROR).
    case invalid(String)
    /// No `<name>` (VIR_ERR_NO_NAME).
    case missingName
    /// Valid libvirt XML asking for what SwiftVirt does not do (VIR_ERR_NO_SUPPORT).
    case unsupported(String)

    public var libvirtError: LibvirtError {
        switch self {
        case .malformed(let line, let reason):
            return LibvirtError(code: .xmlDetail, domain: .network, message: "(network_definition):\(line): \(reason)")
        case .invalid(let detail):
            return LibvirtError(code: .xmlError, domain: .network, message: "XML error: \(detail)")
        case .missingName:
            return LibvirtError(code: .noName, domain: .network, message: "missing name information")
        case .unsupported(let detail):
            return LibvirtError(
                code: .noSupport, domain: .network,
                message: "this function is not supported by the connection driver: \(detail)")
        }
    }

    public var description: String { libvirtError.message }
}
