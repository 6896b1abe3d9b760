import DomainXML
import LibvirtProtocol
import Testing

@testable import Management

@Suite("Network XML, dnsmasq configuration and nft rules")
struct NetworkDefinitionTests {
    /// libvirt's `default` network as `virsh net-dumpxml default` prints it.
    static let defaultNetwork = """
        <network>
          <name>default</name>
          <uuid>7c1a7a10-9a7c-4b8a-8f0e-3f4f1d2c1a01</uuid>
          <forward mode='nat'>
            <nat>
              <port start='1024' end='65535'/>
            </nat>
          </forward>
          <bridge name='virbr0' stp='on' delay='0'/>
          <mac address='52:54:00:0a:0b:0c'/>
          <ip address='192.168.122.1' netmask='255.255.255.0'>
            <dhcp>
              <range start='192.168.122.2' end='192.168.122.254'/>
              <host mac='52:54:00:12:34:56' name='web' ip='192.168.122.10'/>
            </dhcp>
          </ip>
        </network>

        """

    static let files = NetworkRunFiles(directory: "/run/swiftvirt/networks", name: "default")

    @Test("libvirt's default network parses, and formats back to the same text")
    func defaultNetworkRoundTrip() throws {
        let network = try NetworkDefinition.parse(Self.defaultNetwork)
        #expect(network.name == "default")
        #expect(network.forward == .nat(device: nil, ports: 1024...65535))
        #expect(network.bridgeName == "virbr0")
        #expect(network.ip?.interface.description == "192.168.122.1/24")
        #expect(network.ip?.dhcpRanges.map(\.description) == ["192.168.122.2...192.168.122.254"])
        #expect(network.ip?.dhcpHosts.first?.hostName == "web")
        #expect(network.xml() == Self.defaultNetwork)
        #expect(try NetworkDefinition.parse(network.xml()) == network)
    }

    @Test("a bare <forward/> is NAT; no <forward> is isolated; mode='bridge' names an existing bridge")
    func forwardModes() throws {
        let nat = try NetworkDefinition.parse(
            "<network><name>n</name><forward/><ip address='10.0.0.1' prefix='24'/></network>")
        #expect(nat.forward == .nat(device: nil, ports: nil))
        #expect(nat.xml().contains("<ip address='10.0.0.1' prefix='24'/>"))
        let isolated = try NetworkDefinition.parse("<network><name>i</name><bridge name='iso0'/></network>")
        #expect(isolated.forward == .isolated)
        let bridged = try NetworkDefinition.parse(
            "<network><name>b</name><forward mode='bridge'/><bridge name='br0'/></network>")
        #expect(bridged.forward == .bridge && !bridged.ownsBridge)
        #expect(bridged.xml().contains("<bridge name='br0'/>"))
        #expect(NetworkFirewall(bridged) == nil)
        #expect(try NetworkDHCPServer.configuration(for: bridged, files: Self.files) == nil)
    }

    @Test(
        "what SwiftVirt does not do is refused with VIR_ERR_NO_SUPPORT",
        arguments: [
            "<network><name>r</name><forward mode='route'/></network>",
            "<network><name>p</name><forward mode='passthrough'><interface dev='eth1'/></forward></network>",
            "<network><name>h</name><forward mode='hostdev'/></network>",
            "<network><name>o</name><forward mode='open'/></network>",
            "<network><name>v</name><ip family='ipv6' address='fd00::1' prefix='64'/></network>",
            "<network><name>t</name><ip address='10.0.0.1' prefix='24'><tftp root='/srv'/></ip></network>",
            "<network><name>m</name><mtu size='9000'/></network>",
        ])
    func unsupported(xml: String) throws {
        let error = #expect(throws: NetworkDefinitionError.self) { try NetworkDefinition.parse(xml) }
        #expect(error?.libvirtError.code == .noSupport, "\(String(describing: error))")
    }

    @Test(
        "hostile or invalid values are refused as XML errors before they reach the host",
        arguments: [
            "<network><name>a</name><bridge name='br;flush ruleset'/></network>",
            "<network><name>a</name><bridge name='a-very-long-bridge-name'/></network>",
            "<network><name>a</name><bridge name='br\"0'/></network>",
            "<network><name>a/b</name></network>",
            "<network><name>.hidden</name></network>",
            "<network><name>a</name><ip address='010.0.0.1' prefix='24'/></network>",
            "<network><name>a</name><ip address='10.0.0.1 ' prefix='24'/></network>",
            "<network><name>a</name><ip address='10.0.0.256' prefix='24'/></network>",
            "<network><name>a</name><ip address='10.0.0.1' netmask='255.0.255.0'/></network>",
            "<network><name>a</name><ip address='10.0.0.1' prefix='33'/></network>",
            "<network><name>a</name><ip address='10.0.0.1'/></network>",
            "<network><name>a</name><ip address='10.0.0.0' prefix='24'/></network>",
            """
            <network><name>a</name><ip address='10.0.0.1' prefix='24'><dhcp>
              <range start='10.0.1.2' end='10.0.1.9'/></dhcp></ip></network>
            """,
            """
            <network><name>a</name><ip address='10.0.0.1' prefix='24'><dhcp>
              <range start='10.0.0.9' end='10.0.0.2'/></dhcp></ip></network>
            """,
            """
            <network><name>a</name><ip address='10.0.0.1' prefix='24'><dhcp>
              <range start='10.0.0.2' end='10.0.0.255'/></dhcp></ip></network>
            """,
            """
            <network><name>a</name><ip address='10.0.0.1' prefix='24'><dhcp>
              <host mac='52:54:00:00:00:01' name='x&#10;dhcp-script=/bin/sh' ip='10.0.0.5'/></dhcp></ip></network>
            """,
            """
            <network><name>a</name><ip address='10.0.0.1' prefix='24'><dhcp>
              <host mac='52:54:00:00:00:01' name='a,b' ip='10.0.0.5'/></dhcp></ip></network>
            """,
            """
            <network><name>a</name><ip address='10.0.0.1' prefix='24'><dhcp>
              <host mac='52:54:00:00:00:01' ip='10.9.0.5'/></dhcp></ip></network>
            """,
            "<network><name>a</name><forward mode='nat' dev='eth0;x'/></network>",
            "<network><name>a</name><forward mode='bridge'/></network>",
            "<network><name>a</name><forward mode='bogus'/></network>",
            "<network><name>a</name><name>b</name></network>",
            "<pool><name>a</name></pool>",
        ])
    func invalid(xml: String) throws {
        let error = #expect(throws: NetworkDefinitionError.self) { try NetworkDefinition.parse(xml) }
        #expect(error?.libvirtError.code == .xmlError, "\(String(describing: error))")
    }

    @Test("no name, and malformed XML, get libvirt's codes")
    func nameAndSyntax() throws {
        let missing = #expect(throws: NetworkDefinitionError.self) {
            try NetworkDefinition.parse("<network><bridge name='b0'/></network>")
        }
        #expect(missing?.libvirtError.code == .noName)
        let malformed = #expect(throws: NetworkDefinitionError.self) {
            try NetworkDefinition.parse("<network><name>a</name>")
        }
        #expect(malformed?.libvirtError.code == .xmlDetail)
    }

    @Test("strict IPv4 parsing and netmask arithmetic")
    func addresses() throws {
        #expect(IPv4Address(string: "192.168.122.1")?.value == 0xC0A8_7A01)
        for bad in ["", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.-4", "1.2.3.4/24", "+1.2.3.4", "1..3.4", "0x1.2.3.4"] {
            #expect(IPv4Address(string: bad) == nil, "\(bad)")
        }
        let mask = try #require(IPv4Address(string: "255.255.240.0"))
        #expect(IPv4Interface.prefixLength(ofNetmask: mask) == 20)
        #expect(IPv4Interface.prefixLength(ofNetmask: IPv4Address(0)) == 0)
        #expect(IPv4Interface.prefixLength(ofNetmask: IPv4Address(UInt32.max)) == 32)
        let address = try #require(IPv4Address(string: "10.1.2.3"))
        let interface = try #require(IPv4Interface(address: address, prefixLength: 20))
        #expect(interface.subnet == "10.1.0.0/20")
        #expect(interface.broadcast.description == "10.1.15.255")
        #expect(interface.netmask == mask)
    }

    @Test("dnsmasq's configuration binds to the bridge and serves the range and fixed hosts")
    func dnsmasqConfiguration() throws {
        let network = try NetworkDefinition.parse(Self.defaultNetwork)
        let text = try #require(try NetworkDHCPServer.configuration(for: network, files: Self.files))
        let lines = text.split(separator: "\n").map(String.init)
        for expected in [
            "bind-dynamic", "interface=virbr0", "except-interface=lo", "keep-in-foreground",
            "pid-file=/run/swiftvirt/networks/default.pid", "dhcp-leasefile=/run/swiftvirt/networks/default.leases",
            "dhcp-range=192.168.122.2,192.168.122.254,255.255.255.0", "dhcp-host=52:54:00:12:34:56,192.168.122.10,web",
            "dhcp-lease-max=254",
        ] {
            #expect(lines.contains(expected), "missing \(expected) in\n\(text)")
        }
        #expect(lines.allSatisfy { $0.hasPrefix("#") || !$0.contains(" ") }, "\(text)")

        let hostsOnly = try NetworkDefinition.parse(
            """
            <network><name>s</name><bridge name='s0'/><ip address='10.5.0.1' prefix='16'><dhcp>
              <host mac='52:54:00:00:00:09' ip='10.5.3.4'/></dhcp></ip></network>
            """)
        let staticText = try #require(try NetworkDHCPServer.configuration(for: hostsOnly, files: Self.files))
        #expect(staticText.contains("dhcp-range=10.5.0.0,static,255.255.0.0\n"))
        #expect(staticText.contains("dhcp-host=52:54:00:00:00:09,10.5.3.4\n"))

        let noDHCP = try NetworkDefinition.parse(
            "<network><name>q</name><bridge name='q0'/><ip address='10.6.0.1' prefix='24'/></network>")
        #expect(try NetworkDHCPServer.configuration(for: noDHCP, files: Self.files) == nil)
        let newline = NetworkRunFiles(directory: "/run/a\nb", name: "default")
        #expect(throws: NetworkHostError.self) { try NetworkDHCPServer.configuration(for: network, files: newline) }
    }

    @Test("the nft table masquerades the subnet for NAT and only confines an isolated network")
    func firewallRules() throws {
        let nat = try NetworkDefinition.parse(Self.defaultNetwork)
        let rules = try #require(NetworkFirewall(nat))
        #expect(rules.table == "swiftvirt_virbr0")
        #expect(rules.ruleset.hasPrefix("table ip swiftvirt_virbr0 {}\ndelete table ip swiftvirt_virbr0\n"))
        for expected in [
            "type nat hook postrouting priority srcnat; policy accept;",
            "ip saddr 192.168.122.0/24 ip daddr != 192.168.122.0/24 meta l4proto { tcp, udp } masquerade to :1024-65535",
            "ip saddr 192.168.122.0/24 ip daddr != 192.168.122.0/24 masquerade",
            "iifname \"virbr0\" ip saddr 192.168.122.0/24 accept",
            "oifname \"virbr0\" ip daddr 192.168.122.0/24 ct state established,related accept",
            "iifname \"virbr0\" reject", "oifname \"virbr0\" reject",
        ] {
            #expect(rules.ruleset.contains(expected), "missing \(expected) in\n\(rules.ruleset)")
        }

        let viaDevice = try NetworkDefinition.parse(
            "<network><name>d</name><forward dev='eth0'/><bridge name='d0'/><ip address='10.7.0.1' prefix='24'/></network>"
        )
        #expect(
            try #require(NetworkFirewall(viaDevice)).ruleset.contains(
                "ip saddr 10.7.0.0/24 ip daddr != 10.7.0.0/24 oifname \"eth0\" masquerade"))

        let isolated = try NetworkDefinition.parse(
            "<network><name>i</name><bridge name='iso0'/><ip address='10.8.0.1' prefix='24'/></network>")
        let confined = try #require(NetworkFirewall(isolated)).ruleset
        #expect(!confined.contains("masquerade") && !confined.contains("postrouting"))
        #expect(confined.contains("iifname \"iso0\" oifname \"iso0\" accept"))
        #expect(confined.contains("iifname \"iso0\" reject"))
    }
}
