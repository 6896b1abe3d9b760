import LibvirtProtocol
import Testing

@testable import DomainXML

/// A domain as virt-install-style users write it, with parts SwiftVirt does not model.
let fullDomainXML = """
    <?xml version="1.0"?>
    <!-- a test guest -->
    <domain type='kvm'>
      <name>guest1</name>
      <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>
      <title>Test &amp; guest</title>
      <memory unit='MiB'>512</memory>
      <currentMemory unit='KiB'>262144</currentMemory>
      <vcpu placement='static'>2</vcpu>
      <os>
        <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
        <kernel>/var/lib/swiftvirt/vmlinux</kernel>
        <initrd>/var/lib/swiftvirt/initrd.img</initrd>
        <cmdline>console=ttyS0 root=/dev/vda rw</cmdline>
        <boot dev='hd'/>
      </os>
      <features>
        <acpi/>
        <apic/>
      </features>
      <clock offset='utc'/>
      <on_poweroff>destroy</on_poweroff>
      <on_reboot>restart</on_reboot>
      <on_crash>preserve</on_crash>
      <devices>
        <emulator>/usr/bin/qemu-system-x86_64</emulator>
        <disk type='file' device='disk'>
          <driver name='qemu' type='qcow2' cache='none'/>
          <source file='/var/lib/images/root.qcow2'/>
          <target dev='vda' bus='virtio'/>
          <serial>root-disk</serial>
        </disk>
        <disk type='file' device='disk'>
          <source file='/var/lib/images/data.img'/>
          <target dev='vdb'/>
          <readonly/>
        </disk>
        <interface type='network'>
          <mac address='52:54:00:aa:bb:cc'/>
          <source network='default'/>
          <model type='virtio'/>
        </interface>
        <interface type='bridge'>
          <source bridge='br0'/>
          <target dev='tap7'/>
          <mtu size='9000'/>
        </interface>
        <serial type='pty'>
          <target port='0'/>
        </serial>
        <console type='pty'>
          <target type='serial' port='0'/>
        </console>
        <graphics type='vnc' port='-1'/>
      </devices>
    </domain>
    """

@Suite("DomainXML parsing")
struct DomainXMLParseTests {
    @Test("a full description parses into the model")
    func fullDescription() throws {
        let domain = try DomainDefinition.parse(fullDomainXML)
        #expect(domain.hypervisorType == "kvm")
        #expect(domain.name == "guest1")
        #expect(domain.uuid.description == "4dea22b3-1d52-d8f3-2516-782e98ab3fa0")
        #expect(domain.memory == 524_288)
        #expect(domain.currentMemory == 262_144)
        #expect(domain.virtualCPUs == 2)
        #expect(domain.os.type == "hvm")
        #expect(domain.os.machine == "pc-q35-7.2")
        #expect(domain.os.kernel == "/var/lib/swiftvirt/vmlinux")
        #expect(domain.os.initrd == "/var/lib/swiftvirt/initrd.img")
        #expect(domain.os.commandLine == "console=ttyS0 root=/dev/vda rw")
        #expect(domain.os.bootDevices == ["hd"])
        #expect(domain.features.map(\.name) == ["acpi", "apic"])
        #expect(domain.onCrash == .preserve)
        #expect(domain.devices.emulator == "/usr/bin/qemu-system-x86_64")

        #expect(domain.devices.disks.count == 2)
        let root = domain.devices.disks[0]
        #expect(root.format == .qcow2)
        #expect(root.sourceFile == "/var/lib/images/root.qcow2")
        #expect(root.targetDevice == "vda")
        #expect(root.targetBus == "virtio")
        #expect(root.serial == "root-disk")
        #expect(!root.readOnly)
        let data = domain.devices.disks[1]
        #expect(data.format == .raw)
        #expect(data.targetBus == "virtio")
        #expect(data.readOnly)

        #expect(domain.devices.interfaces.count == 2)
        #expect(domain.devices.interfaces[0].connection == .network("default"))
        #expect(domain.devices.interfaces[0].macAddress.description == "52:54:00:aa:bb:cc")
        #expect(domain.devices.interfaces[1].connection == .bridge("br0"))
        #expect(domain.devices.interfaces[1].targetDevice == "tap7")
        #expect(domain.devices.interfaces[0].mtu == nil)
        #expect(domain.devices.interfaces[1].mtu == 9000)
        #expect(domain.xml().contains("<model type='virtio'/>\n      <mtu size='9000'/>"))
        #expect(domain.devices.interfaces[1].macAddress.octets.prefix(3) == [0x52, 0x54, 0x00])

        #expect(domain.devices.serials == [DomainCharacterDevice(port: 0)])
        #expect(domain.devices.consoles == [DomainCharacterDevice(port: 0, targetType: .serial)])
    }

    @Test("unmodeled elements and attributes are kept and reported")
    func unmodeledPartsAreReported() throws {
        let domain = try DomainDefinition.parse(fullDomainXML)
        let warnings = domain.warnings
        #expect(warnings.contains("element <title> in <domain> is not supported; it is kept but ignored"))
        #expect(warnings.contains("element <clock> in <domain> is not supported; it is kept but ignored"))
        #expect(warnings.contains("element <graphics> in <domain/devices> is not supported; it is kept but ignored"))
        #expect(
            warnings.contains(
                "attribute 'cache' of <domain/devices/disk/driver> is not supported; it is kept but ignored"))
        #expect(warnings.count == 4)

        let xml = domain.xml()
        #expect(xml.contains("<title>Test &amp; guest</title>"))
        #expect(xml.contains("<clock offset='utc'/>"))
        #expect(xml.contains("<graphics type='vnc' port='-1'/>"))
        #expect(xml.contains("<driver name='qemu' type='qcow2' cache='none'/>"))
    }

    @Test("a virtio <rng> with the random backend is modeled and written back as libvirt does")
    func randomNumberGenerator() throws {
        let domain = try DomainDefinition.parse(
            """
            <domain type='kvm'><name>r</name><memory>65536</memory><os><type>hvm</type></os>
              <devices><rng model='virtio'><backend model='random'>/dev/random</backend><rate bytes='1024'/></rng>
              </devices></domain>
            """)
        #expect(domain.devices.randomNumberGenerators.map(\.backendSource) == ["/dev/random"])
        #expect(domain.warnings == ["element <rate> in <domain/devices/rng> is not supported; it is kept but ignored"])
        #expect(
            domain.xml().contains(
                "    <rng model='virtio'>\n      <backend model='random'>/dev/random</backend>\n"
                    + "      <rate bytes='1024'/>\n    </rng>\n"))
        let defaulted = try DomainDefinition.parse(
            "<domain type='kvm'><name>r</name><memory>65536</memory><os><type>hvm</type></os>"
                + "<devices><rng model='virtio'><backend model='random'/></rng></devices></domain>")
        #expect(defaulted.devices.randomNumberGenerators == [DomainRNG(backendSource: "/dev/urandom")])
        #expect(try DomainDefinition.parse(defaulted.xml()) == defaulted)
    }

    @Test("serializing and parsing again gives the same definition")
    func roundTrip() throws {
        let domain = try DomainDefinition.parse(fullDomainXML)
        let xml = domain.xml()
        let again = try DomainDefinition.parse(xml)
        #expect(again == domain)
        #expect(again.xml() == xml)
    }

    @Test("the output has libvirt's shape")
    func libvirtShape() throws {
        let xml = """
            <domain type='kvm'><name>tiny</name><uuid>11111111-2222-3333-4444-555555555555</uuid>
            <memory>65536</memory><os><type>hvm</type><kernel>/k</kernel></os>
            <devices><console type='pty'/></devices></domain>
            """
        let expected = """
            <domain type='kvm'>
              <name>tiny</name>
              <uuid>11111111-2222-3333-4444-555555555555</uuid>
              <memory unit='KiB'>65536</memory>
              <currentMemory unit='KiB'>65536</currentMemory>
              <vcpu placement='static'>1</vcpu>
              <os>
                <type arch='x86_64'>hvm</type>
                <kernel>/k</kernel>
              </os>
              <on_poweroff>destroy</on_poweroff>
              <on_reboot>restart</on_reboot>
              <on_crash>destroy</on_crash>
              <devices>
                <serial type='pty'>
                  <target port='0'/>
                </serial>
                <console type='pty'>
                  <target type='serial' port='0'/>
                </console>
              </devices>
            </domain>

            """
        #expect(try DomainDefinition.parse(xml).xml() == expected)
    }

    @Test("a running domain's XML has its id and pty paths")
    func liveXML() throws {
        let domain = try DomainDefinition.parse(fullDomainXML)
        let xml = domain.xml(live: DomainLiveState(id: 7, serialPTYPaths: [0: "/dev/pts/3"]))
        #expect(xml.hasPrefix("<domain type='kvm' id='7'>"))
        #expect(xml.contains("<console type='pty' tty='/dev/pts/3'>"))
        #expect(xml.contains("<source path='/dev/pts/3'/>"))
        // Live-only parts are dropped when the XML is defined again.
        let again = try DomainDefinition.parse(xml)
        #expect(again == domain)
    }

    @Test("missing optional parts get libvirt's defaults")
    func defaults() throws {
        let domain = try DomainDefinition.parse(
            "<domain type='kvm'><name>d</name><memory>1024</memory><os><type>hvm</type></os></domain>")
        #expect(domain.currentMemory == 1024)
        #expect(domain.virtualCPUs == 1)
        #expect(domain.uuid.bytes[6] >> 4 == 4)
        #expect(domain.onPoweroff == .destroy)
        #expect(domain.onReboot == .restart)
        #expect(domain.features.isEmpty)
        #expect(domain.warnings.isEmpty)
        let other = try DomainDefinition.parse(
            "<domain type='kvm'><name>d</name><memory>1024</memory><os><type>hvm</type></os></domain>")
        #expect(other.uuid != domain.uuid)
    }

    @Test(
        "memory units scale like libvirt's virScaleInteger",
        arguments: [
            ("KiB", "4", UInt64(4)), ("k", "4", 4), ("MiB", "2", 2048), ("M", "2", 2048), ("MB", "1", 977),
            ("GiB", "1", 1_048_576), ("G", "3", 3_145_728), ("GB", "1", 976_563), ("bytes", "1025", 2),
            ("b", "1024", 1), ("TiB", "1", 1_073_741_824),
        ])
    func memoryUnits(unit: String, value: String, kibibytes: UInt64) throws {
        let domain = try DomainDefinition.parse(
            "<domain type='kvm'><name>d</name><memory unit='\(unit)'>\(value)</memory><os><type>hvm</type></os></domain>"
        )
        #expect(domain.memory == kibibytes)
    }

    @Test("currentMemory above memory is lowered to memory, as libvirt does")
    func currentMemoryClamp() throws {
        let domain = try DomainDefinition.parse(
            """
            <domain type='kvm'><name>d</name><memory>1024</memory><currentMemory>4096</currentMemory>
            <os><type>hvm</type></os></domain>
            """)
        #expect(domain.currentMemory == 1024)
    }

    @Test("names with markup characters survive a round trip")
    func escaping() throws {
        var domain = DomainDefinition(name: "a<b>&'c\"", memory: 1024)
        domain.os.commandLine = "console=ttyS0 quiet \"x\""
        let again = try DomainDefinition.parse(domain.xml())
        #expect(again.name == "a<b>&'c\"")
        #expect(again.os.commandLine == "console=ttyS0 quiet \"x\"")
        #expect(
            try DomainDefinition.parse(
                "<domain type='kvm'><name>&#x41;&#66;</name><memory>1</memory><os><type>hvm</type></os></domain>"
            ).name == "AB")
    }

    @Test("CDATA and comments inside elements are handled")
    func cdataAndComments() throws {
        let domain = try DomainDefinition.parse(
            """
            <domain type='kvm'><name><![CDATA[x<y]]></name><!-- c --><memory>1</memory>
            <os><type>hvm</type><cmdline><!-- none -->a b</cmdline></os></domain>
            """)
        #expect(domain.name == "x<y")
        #expect(domain.os.commandLine == "a b")
    }

    @Test("vcpu placement other than static is kept, not overwritten")
    func vcpuPlacement() throws {
        let domain = try DomainDefinition.parse(
            """
            <domain type='kvm'><name>d</name><memory>1024</memory><vcpu placement='auto' current='1'>2</vcpu>
            <os><type>hvm</type></os></domain>
            """)
        #expect(domain.virtualCPUs == 2)
        #expect(domain.xml().contains("<vcpu placement='auto' current='1'>2</vcpu>"))
        #expect(domain.warnings.count == 2)
        #expect(try DomainDefinition.parse(domain.xml()) == domain)
    }
}
