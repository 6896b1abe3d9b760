import LibvirtProtocol
import Testing

@testable import DomainXML

@Suite("DomainXML errors carry libvirt's codes and messages")
struct DomainXMLErrorTests {
    private func parseError(for xml: String) -> LibvirtError? {
        do {
            _ = try DomainDefinition.parse(xml)
            return nil
        } catch {
            return error.libvirtError
        }
    }

    private func domain(_ body: String, type: String = "kvm") -> String {
        "<domain type='\(type)'><name>d</name><memory>1024</memory><os><type>hvm</type></os>\(body)</domain>"
    }

    @Test(
        "malformed XML is VIR_ERR_XML_DETAIL with the line",
        arguments: [
            (
                "<domain type='kvm'>\n<name>x</name>\n</domian>",
                "(domain_definition):3: Opening and ending tag mismatch: domain line 1 and domian"
            ),
            ("", "(domain_definition):1: Document is empty"),
            ("<domain", "(domain_definition):1: Couldn't find end of Start Tag domain"),
            ("<domain a='1' a='2'/>", "(domain_definition):1: Attribute a redefined"),
            ("<domain><name>&foo;</name></domain>", "(domain_definition):1: Entity 'foo' not defined"),
            ("<domain/><other/>", "(domain_definition):1: Extra content at the end of the document"),
            ("<domain><name>\u{1}</name></domain>", "(domain_definition):1: PCDATA invalid Char value 1"),
            ("<domain a=1/>", "(domain_definition):1: AttValue: \" or ' expected for attribute a"),
            (
                "<domain><name>&#0;</name></domain>",
                "(domain_definition):1: xmlParseCharRef: invalid xmlChar value in &#0;"
            ),
        ])
    func malformed(xml: String, message: String) throws {
        let error = try #require(parseError(for: xml))
        #expect(error.code == .xmlDetail)
        #expect(error.code.rawValue == 35)
        #expect(error.message == message)
    }

    @Test("document type declarations are refused, so no entity can reach a file")
    func noDoctype() throws {
        let xml = """
            <?xml version="1.0"?>
            <!DOCTYPE domain [<!ENTITY e SYSTEM "file:///etc/hostname">]>
            <domain type='kvm'><name>&e;</name></domain>
            """
        let error = try #require(parseError(for: xml))
        #expect(error.code == .xmlDetail)
        #expect(error.message.contains("document type declarations are not allowed"))
    }

    @Test("nesting deeper than the limit is refused without recursion")
    func deepNesting() throws {
        let depth = 100_000
        let xml = String(repeating: "<a>", count: depth) + String(repeating: "</a>", count: depth)
        let error = try #require(parseError(for: xml))
        #expect(error.message.contains("nested deeper than 256"))
    }

    @Test("a wrong root element is VIR_ERR_XML_ERROR")
    func wrongRoot() throws {
        let error = try #require(parseError(for: "<network/>"))
        #expect(error.code == .xmlError)
        #expect(error.code.rawValue == 27)
        #expect(error.message == "XML error: expecting root element of 'domain', not 'network'")
    }

    @Test("a missing name is VIR_ERR_NO_NAME")
    func missingName() throws {
        let error = try #require(
            parseError(for: "<domain type='kvm'><memory>1</memory><os><type>hvm</type></os></domain>"))
        #expect(error.code == .noName)
        #expect(error.message == "missing name information")
    }

    @Test("a malformed uuid is libvirt's internal error")
    func badUUID() throws {
        let error = try #require(parseError(for: domain("<uuid>not-a-uuid</uuid>")))
        #expect(error.code == .internalError)
        #expect(error.message == "internal error: malformed uuid element")
    }

    @Test("an unknown memory unit is VIR_ERR_INVALID_ARG")
    func unknownUnit() throws {
        let error = try #require(
            parseError(
                for:
                    "<domain type='kvm'><name>d</name><memory unit='parsecs'>1</memory><os><type>hvm</type></os></domain>"
            ))
        #expect(error.code == .invalidArgument)
        #expect(error.message == "invalid argument: unknown suffix 'parsecs'")
    }

    @Test("a memory size beyond 64 bits of bytes is VIR_ERR_OVERFLOW")
    func overflow() throws {
        let error = try #require(
            parseError(
                for:
                    "<domain type='kvm'><name>d</name><memory unit='EiB'>100</memory><os><type>hvm</type></os></domain>"
            ))
        #expect(error.code == .overflow)
        #expect(error.message == "numerical overflow: value too large: 100EiB")
    }

    @Test(
        "invalid values are VIR_ERR_XML_ERROR with libvirt's wording",
        arguments: [
            (
                "<domain type='kvm'><name>d</name><os><type>hvm</type></os></domain>",
                "XML error: Memory size must be specified via <memory> or in the <numa> configuration"
            ),
            (
                "<domain type='kvm'><name>d</name><memory>1</memory></domain>",
                "XML error: an os <type> must be specified"
            ),
            (
                "<domain><name>d</name><memory>1</memory><os><type>hvm</type></os></domain>",
                "XML error: missing domain type attribute"
            ),
            (
                "<domain type='kvm'><name>a/b</name><memory>1</memory><os><type>hvm</type></os></domain>",
                "XML error: name a/b cannot contain '/'"
            ),
            (
                "<domain type='kvm'><name>d</name><memory>lots</memory><os><type>hvm</type></os></domain>",
                "XML error: Invalid value 'lots' for element <memory>"
            ),
        ])
    func invalidValues(xml: String, message: String) throws {
        let error = try #require(parseError(for: xml))
        #expect(error.code == .xmlError)
        #expect(error.message == message)
    }

    @Test(
        "device mistakes are VIR_ERR_XML_ERROR",
        arguments: [
            (
                "<devices><interface type='network'><mac address='53:54:00:00:00:01'/><source network='n'/></interface></devices>",
                "XML error: expected unicast mac address, found multicast '53:54:00:00:00:01'"
            ),
            (
                "<devices><interface type='network'><mac address='zz:54:00:00:00:01'/><source network='n'/></interface></devices>",
                "XML error: unable to parse mac address 'zz:54:00:00:00:01'"
            ),
            (
                "<devices><interface type='bridge'><source bridge='br0'/><mtu size='0'/></interface></devices>",
                "XML error: Invalid value for attribute 'size' in element 'mtu': '0'. Expected non-zero value"
            ),
            (
                "<devices><disk type='file'><source file='/a'/><target dev='vda'/></disk><disk type='file'><source file='/b'/><target dev='vda'/></disk></devices>",
                "XML error: target 'vda' duplicated for disk sources '/a' and '/b'"
            ),
            (
                "<devices><disk type='file'><target dev='vda'/></disk></devices>",
                "XML error: disk has no <source file=...>"
            ),
            ("<on_reboot>explode</on_reboot>", "XML error: invalid on_reboot value: 'explode'"),
        ])
    func deviceMistakes(body: String, message: String) throws {
        let error = try #require(parseError(for: domain(body)))
        #expect(error.code == .xmlError)
        #expect(error.message == message)
    }

    @Test(
        "valid libvirt XML SwiftVirt cannot run is VIR_ERR_CONFIG_UNSUPPORTED",
        arguments: [
            (
                "<devices><disk type='block'><source dev='/dev/sda'/><target dev='vda'/></disk></devices>",
                "unsupported configuration: disk type 'block' is not supported; use type='file'"
            ),
            (
                "<devices><disk type='file' device='cdrom'><source file='/a.iso'/><target dev='hdc'/></disk></devices>",
                "unsupported configuration: disk device 'cdrom' is not supported; use device='disk'"
            ),
            (
                "<devices><disk type='file'><driver name='qemu' type='vmdk'/><source file='/a'/><target dev='vda'/></disk></devices>",
                "unsupported configuration: disk format 'vmdk' is not supported; use 'raw' or 'qcow2'"
            ),
            (
                "<devices><disk type='file'><source file='/a'/><target dev='sda' bus='sata'/></disk></devices>",
                "unsupported configuration: disk bus 'sata' is not supported for 'sda'; use 'virtio'"
            ),
            (
                "<devices><interface type='user'/></devices>",
                "unsupported configuration: interface type 'user' is not supported; use network, bridge or ethernet"
            ),
            (
                "<devices><interface type='ethernet'><model type='e1000'/></interface></devices>",
                "unsupported configuration: interface model 'e1000' is not supported; use 'virtio'"
            ),
            (
                "<devices><serial type='file'/></devices>",
                "unsupported configuration: serial type 'file' is not supported; use type='pty'"
            ),
            ("<vcpu>300</vcpu>", "unsupported configuration: 300 vCPUs exceed the maximum of 254"),
            ("<vcpu>255</vcpu>", "unsupported configuration: 255 vCPUs exceed the maximum of 254"),
            (
                "<devices><rng model='virtio-transitional'><backend model='random'/></rng></devices>",
                "unsupported configuration: rng model 'virtio-transitional' is not supported; use model='virtio'"
            ),
            (
                "<devices><rng model='virtio'><backend model='egd' type='tcp'/></rng></devices>",
                "unsupported configuration: rng backend model 'egd' is not supported; use model='random'"
            ),
            (
                "<devices><rng model='virtio'><backend model='random'>/dev/hwrng</backend></rng></devices>",
                "unsupported configuration: rng backend source '/dev/hwrng' is not supported: the VMM reads "
                    + "getrandom(2); use /dev/urandom"
            ),
            (
                "<devices><rng model='virtio'><backend model='random'/></rng>"
                    + "<rng model='virtio'><backend model='random'/></rng></devices>",
                "unsupported configuration: only one <rng> device is supported; the VMM has a single virtio-rng device"
            ),
        ])
    func unsupported(body: String, message: String) throws {
        let error = try #require(parseError(for: domain(body)))
        #expect(error.code == .configUnsupported)
        #expect(error.code.rawValue == 67)
        #expect(error.message == message)
    }

    @Test("another hypervisor type is unsupported")
    func otherHypervisor() throws {
        let error = try #require(parseError(for: domain("", type: "xen")))
        #expect(error.code == .configUnsupported)
    }

    @Test("random and mutated documents never trap")
    func parserFuzz() {
        var state: UInt64 = 0xD0_4A11
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let alphabet = Array("<>/='\"&;#x!-[]CDATA?domainme \n\tab1é")
        let seed = Array(fullDomainXML)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(1))
        var parsed = 0
        var iterations = 0
        while clock.now < deadline {
            iterations += 1
            var characters = seed
            for _ in 0..<Int(next() % 8 + 1) {
                let index = Int(next() % UInt64(characters.count))
                switch next() % 3 {
                case 0: characters[index] = alphabet[Int(next() % UInt64(alphabet.count))]
                case 1: characters.remove(at: index)
                default: characters.insert(alphabet[Int(next() % UInt64(alphabet.count))], at: index)
                }
            }
            if (try? DomainDefinition.parse(String(characters))) != nil { parsed += 1 }
        }
        #expect(iterations > 100)
        #expect(parsed < iterations)
    }
}
