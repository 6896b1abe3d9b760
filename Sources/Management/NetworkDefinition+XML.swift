import DomainXML
import LibvirtProtocol

/// Reading and writing `<network>` XML (libvirt's formatnetwork), through the same strict parser
/// and writer as domain XML. What SwiftVirt models is read into `NetworkDefinition`; a few purely
/// descriptive elements are kept as they are; anything that would change how the network behaves
/// and that SwiftVirt does not do is refused rather than ignored.
extension NetworkDefinition {
    /// Forward modes libvirt has and SwiftVirt does not.
    static let unsupportedForwardModes: Set<String> = ["route", "open", "private", "vepa", "passthrough", "hostdev"]
    /// Top-level elements kept verbatim without acting on them.
    static let descriptiveElements: Set<String> = ["title", "description", "metadata", "domain", "dns"]

    public static func parse(_ text: String) throws(NetworkDefinitionError) -> NetworkDefinition {
        let root: XMLTreeElement
        do {
            root = try XMLTreeElement.parseDocument(text)
        } catch {
            switch error {
            case .malformed(let line, let reason): throw .malformed(line: line, reason: reason)
            default: throw .invalid("\(error)")
            }
        }
        guard root.name == "network" else {
            throw .invalid("unexpected root element <\(root.name)>, expecting <network>")
        }
        var definition = NetworkDefinition(
            name: "", uuid: .random(), forward: .isolated, bridgeName: nil, spanningTree: true, forwardDelay: 0,
            macAddress: nil, ip: nil, unmodeled: [])
        var seen: Set<String> = []
        for child in root.children {
            if child.name != "ip", !descriptiveElements.contains(child.name), !seen.insert(child.name).inserted {
                throw .invalid("network '\(definition.name)' has more than one <\(child.name)>")
            }
            switch child.name {
            case "name":
                definition.name = child.text.trimmingSpaces
            case "uuid":
                guard let uuid = DomainUUID(string: child.text.trimmingSpaces) else {
                    throw .invalid("malformed uuid element")
                }
                definition.uuid = uuid
            case "forward":
                definition.forward = try readForward(child)
            case "bridge":
                try readBridge(child, into: &definition)
            case "mac":
                guard let text = child.attribute("address"), let mac = MACAddress(string: text) else {
                    throw .invalid("Invalid mac address '\(child.attribute("address") ?? "")' in network")
                }
                definition.macAddress = mac
            case "ip":
                guard definition.ip == nil else {
                    throw .unsupported("SwiftVirt networks take a single IPv4 <ip> element")
                }
                definition.ip = try readIP(child)
            default:
                guard descriptiveElements.contains(child.name) else {
                    throw .unsupported("network element <\(child.name)> is not supported by SwiftVirt")
                }
                definition.unmodeled.append(child)
            }
        }
        guard seen.contains("name") else { throw .missingName }
        try definition.validate()
        return definition
    }

    private static func readForward(_ element: XMLTreeElement) throws(NetworkDefinitionError) -> Forward {
        let mode = element.attribute("mode") ?? "nat"
        switch mode {
        case "nat":
            var ports: ClosedRange<UInt16>?
            for child in element.children {
                guard child.name == "nat" else {
                    throw .unsupported("<forward> element <\(child.name)> is not supported by SwiftVirt")
                }
                for natChild in child.children {
                    guard natChild.name == "port", ports == nil else {
                        throw .unsupported("<nat> element <\(natChild.name)> is not supported by SwiftVirt")
                    }
                    guard let start = natChild.attribute("start").flatMap({ UInt16($0) }),
                        let end = natChild.attribute("end").flatMap({ UInt16($0) }), start > 0, start <= end
                    else {
                        throw .invalid("Invalid NAT port range in <nat><port start=... end=.../></nat>")
                    }
                    ports = start...end
                }
            }
            let device = element.attribute("dev")
            return .nat(device: device?.isEmpty == true ? nil : device, ports: ports)
        case "bridge":
            guard element.children.isEmpty else {
                throw .unsupported("<forward mode='bridge'> children are not supported: name the bridge in <bridge>")
            }
            return .bridge
        default:
            guard unsupportedForwardModes.contains(mode) else { throw .invalid("unknown forward type '\(mode)'") }
            throw .unsupported(
                "forward mode '\(mode)' is not supported by SwiftVirt: use 'nat', 'bridge' (an existing host "
                    + "bridge) or no <forward> for an isolated network")
        }
    }

    private static func readBridge(
        _ element: XMLTreeElement, into definition: inout NetworkDefinition
    ) throws(NetworkDefinitionError) {
        definition.bridgeName = element.attribute("name")
        switch element.attribute("stp") {
        case nil, "on": definition.spanningTree = true
        case "off": definition.spanningTree = false
        case let other?: throw .invalid("Invalid stp setting '\(other)' in network '\(definition.name)'")
        }
        if let delay = element.attribute("delay") {
            guard let seconds = UInt32(delay), seconds <= 30 else {
                throw .invalid("Invalid delay value '\(delay)' in network '\(definition.name)': 0 to 30 seconds")
            }
            definition.forwardDelay = seconds
        }
    }

    private static func readIP(_ element: XMLTreeElement) throws(NetworkDefinitionError) -> IPConfiguration {
        if let family = element.attribute("family"), family != "ipv4" {
            throw .unsupported("<ip family='\(family)'> is not supported by SwiftVirt: only IPv4")
        }
        let address = try address(element, "address", what: "<ip>")
        let prefixLength: Int
        switch (element.attribute("netmask"), element.attribute("prefix")) {
        case (let netmask?, nil):
            guard let mask = IPv4Address(string: netmask), let length = IPv4Interface.prefixLength(ofNetmask: mask)
            else { throw .invalid("Invalid netmask '\(netmask)'") }
            prefixLength = length
        case (nil, let prefix?):
            guard let length = Int(prefix), (0...32).contains(length) else {
                throw .invalid("Invalid ipv4 prefix '\(prefix)'")
            }
            prefixLength = length
        case (nil, nil):
            throw .invalid("<ip address='\(address)'> needs a netmask or a prefix")
        case (.some, .some):
            throw .invalid("<ip address='\(address)'> cannot have both a prefix and a netmask")
        }
        guard let interface = IPv4Interface(address: address, prefixLength: prefixLength) else {
            throw .invalid("Invalid ipv4 prefix '\(prefixLength)'")
        }
        var ip = IPConfiguration(
            interface: interface, writtenAsNetmask: element.attribute("netmask") != nil, dhcpRanges: [], dhcpHosts: [])
        for child in element.children {
            guard child.name == "dhcp", ip.dhcpRanges.isEmpty, ip.dhcpHosts.isEmpty else {
                throw .unsupported("<ip> element <\(child.name)> is not supported by SwiftVirt")
            }
            for entry in child.children {
                switch entry.name {
                case "range":
                    let start = try Self.address(entry, "start", what: "<range>")
                    let end = try Self.address(entry, "end", what: "<range>")
                    guard start <= end else { throw .invalid("range \(start) - \(end) ends before it starts") }
                    ip.dhcpRanges.append(start...end)
                case "host":
                    guard let text = entry.attribute("mac"), let mac = MACAddress(string: text), !mac.isMulticast else {
                        throw .invalid("Invalid or missing mac in DHCP host definition of network")
                    }
                    let hostName = entry.attribute("name")
                    if let hostName, !isValidHostName(hostName) {
                        throw .invalid("Invalid host name '\(hostName)' in DHCP host definition")
                    }
                    let hostAddress = try Self.address(entry, "ip", what: "<host>")
                    ip.dhcpHosts.append(DHCPHost(macAddress: mac, address: hostAddress, hostName: hostName))
                default:
                    throw .unsupported("<dhcp> element <\(entry.name)> is not supported by SwiftVirt")
                }
            }
        }
        return ip
    }

    private static func address(
        _ element: XMLTreeElement, _ attribute: String, what: String
    ) throws(NetworkDefinitionError) -> IPv4Address {
        guard let text = element.attribute(attribute) else { throw .invalid("\(what) has no '\(attribute)'") }
        guard let address = IPv4Address(string: text) else {
            throw .invalid("Invalid IPv4 address '\(text)' in \(what) '\(attribute)'")
        }
        return address
    }

    /// The definition as libvirt formats it.
    public func xml() -> String { element().formatted }

    func element() -> XMLTreeElement {
        var root = XMLTreeElement(name: "network")
        root.children.append(XMLTreeElement(name: "name", text: name))
        root.children.append(XMLTreeElement(name: "uuid", text: uuid.description))
        switch forward {
        case .isolated:
            break
        case .nat(let device, let ports):
            var element = XMLTreeElement(name: "forward")
            if let device { element.attributes.append(XMLAttribute("dev", device)) }
            element.attributes.append(XMLAttribute("mode", "nat"))
            if let ports {
                let port = XMLTreeElement(
                    name: "port",
                    attributes: [
                        XMLAttribute("start", String(ports.lowerBound)), XMLAttribute("end", String(ports.upperBound)),
                    ])
                element.children.append(XMLTreeElement(name: "nat", children: [port]))
            }
            root.children.append(element)
        case .bridge:
            root.children.append(XMLTreeElement(name: "forward", attributes: [XMLAttribute("mode", "bridge")]))
        }
        if let bridgeName {
            var bridge = XMLTreeElement(name: "bridge", attributes: [XMLAttribute("name", bridgeName)])
            if ownsBridge {
                bridge.attributes.append(XMLAttribute("stp", spanningTree ? "on" : "off"))
                bridge.attributes.append(XMLAttribute("delay", String(forwardDelay)))
            }
            root.children.append(bridge)
        }
        if let macAddress {
            root.children.append(
                XMLTreeElement(name: "mac", attributes: [XMLAttribute("address", macAddress.description)]))
        }
        root.children += unmodeled
        if let ip { root.children.append(Self.element(for: ip)) }
        return root
    }

    private static func element(for ip: IPConfiguration) -> XMLTreeElement {
        var element = XMLTreeElement(
            name: "ip", attributes: [XMLAttribute("address", ip.interface.address.description)])
        element.attributes.append(
            ip.writtenAsNetmask
                ? XMLAttribute("netmask", ip.interface.netmask.description)
                : XMLAttribute("prefix", String(ip.interface.prefixLength)))
        guard ip.servesDHCP else { return element }
        var dhcp = XMLTreeElement(name: "dhcp")
        for range in ip.dhcpRanges {
            dhcp.children.append(
                XMLTreeElement(
                    name: "range",
                    attributes: [
                        XMLAttribute("start", range.lowerBound.description),
                        XMLAttribute("end", range.upperBound.description),
                    ]))
        }
        for host in ip.dhcpHosts {
            var attributes = [XMLAttribute("mac", host.macAddress.description)]
            if let hostName = host.hostName { attributes.append(XMLAttribute("name", hostName)) }
            attributes.append(XMLAttribute("ip", host.address.description))
            dhcp.children.append(XMLTreeElement(name: "host", attributes: attributes))
        }
        element.children.append(dhcp)
        return element
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and line breaks.
    fileprivate var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
