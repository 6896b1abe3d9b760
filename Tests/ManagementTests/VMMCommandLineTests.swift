import DomainXML
import Testing

@testable import Management

@Suite("VMMCommandLine: domain XML → swiftvirt run")
struct VMMCommandLineTests {
    static let files = DomainRunFiles(directory: "/run/swiftvirt", name: "web")

    static func definition(devices: String, os: String? = nil, memory: String = "<memory unit='MiB'>512</memory>")
        throws -> DomainDefinition
    {
        try DomainDefinition.parse(
            """
            <domain type='kvm'><name>web</name>\(memory)<vcpu>2</vcpu>
            \(os ?? "<os><type>hvm</type><kernel>/k</kernel><initrd>/i</initrd><cmdline>console=ttyS0 root=/dev/vda</cmdline></os>")
            <devices>\(devices)</devices></domain>
            """)
    }

    @Test("kernel, initrd, cmdline, memory, cpus, disks in guest order, taps, sockets")
    func fullCommandLine() throws {
        let definition = try Self.definition(
            devices: """
                <disk type='file'><driver name='qemu' type='qcow2'/><source file='/data.qcow2'/>
                  <target dev='vdb' bus='virtio'/><readonly/><serial>DATA1</serial></disk>
                <disk type='file'><source file='/root.img'/><target dev='vda' bus='virtio'/></disk>
                <interface type='ethernet'><mac address='52:54:00:12:34:56'/><target dev='tap0'/></interface>
                """)
        let commandLine = try VMMCommandLine(definition: definition, files: Self.files)
        #expect(
            commandLine.arguments == [
                "run", "--kernel", "/k", "--initrd", "/i", "--cmdline", "console=ttyS0 root=/dev/vda",
                "--memory", "512M", "--cpus", "2",
                "--disk", "path=/root.img",
                "--disk", "path=/data.qcow2,readonly=on,format=qcow2,serial=DATA1",
                "--net", "tap=tap0,mac=52:54:00:12:34:56",
                "--serial", "socket=/run/swiftvirt/web.serial", "--control-socket", "/run/swiftvirt/web.ctl",
            ])
        #expect(commandLine.inputFiles == ["/k", "/i", "/root.img", "/data.qcow2"])
    }

    @Test(
        "bridge and network interfaces take the passed tap descriptors 3, 4... in interface order; <mtu> reaches the VMM"
    )
    func bridgeInterfaces() throws {
        let definition = try Self.definition(
            devices: """
                <interface type='bridge'><mac address='52:54:00:00:00:01'/><source bridge='br0'/></interface>
                <interface type='ethernet'><mac address='52:54:00:00:00:02'/><target dev='tap0'/>
                  <mtu size='9000'/></interface>
                <interface type='bridge'><mac address='52:54:00:00:00:03'/><source bridge='br1'/>
                  <target dev='mine0'/><model type='virtio'/><mtu size='1400'/></interface>
                <interface type='network'><mac address='52:54:00:00:00:04'/><source network='default'/></interface>
                """)
        let arguments = try VMMCommandLine(definition: definition, files: Self.files).arguments
        let networks = arguments.indices.filter { arguments[$0] == "--net" }.map { arguments[$0 + 1] }
        #expect(
            networks == [
                "fd=3,mac=52:54:00:00:00:01", "tap=tap0,mac=52:54:00:00:00:02,mtu=9000",
                "fd=4,mac=52:54:00:00:00:03,mtu=1400", "fd=5,mac=52:54:00:00:00:04",
            ])
    }

    @Test("an <rng> becomes --rng")
    func randomNumberGenerator() throws {
        let definition = try Self.definition(
            devices: "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>")
        let arguments = try VMMCommandLine(definition: definition, files: Self.files).arguments
        #expect(arguments.filter { $0 == "--rng" }.count == 1)
        #expect(arguments.firstIndex(of: "--rng").map { arguments[$0 + 1] } == "--serial")
        #expect(
            !(try VMMCommandLine(definition: Self.definition(devices: ""), files: Self.files).arguments.contains(
                "--rng")))
    }

    @Test("the tap's own MAC is the guest's with a host-side first octet, as libvirt sets it")
    func hostSideAddress() throws {
        let guest = try #require(MACAddress(string: "52:54:00:ab:cd:ef"))
        #expect(ManagedDomainBackend.hostSideAddress(guest) == [0xFE, 0x54, 0x00, 0xAB, 0xCD, 0xEF])
        let already = try #require(MACAddress(string: "fe:54:00:ab:cd:ef"))
        #expect(ManagedDomainBackend.hostSideAddress(already) == [0xFA, 0x54, 0x00, 0xAB, 0xCD, 0xEF])
    }

    @Test("memory rounds up to whole MiB; vdz sorts before vdaa")
    func arithmetic() throws {
        #expect(VMMCommandLine.mebibytes(kibibytes: 1) == 1)
        #expect(VMMCommandLine.mebibytes(kibibytes: 1024) == 1)
        #expect(VMMCommandLine.mebibytes(kibibytes: 1025) == 2)
        let disks = ["vdaa", "vdz", "vdb"].map { DomainDisk(sourceFile: "/\($0)", targetDevice: $0) }
        #expect(VMMCommandLine.inGuestOrder(disks).map(\.targetDevice) == ["vdb", "vdz", "vdaa"])
        let odd = try Self.definition(devices: "", memory: "<memory unit='KiB'>1025</memory>")
        #expect(try VMMCommandLine(definition: odd, files: Self.files).arguments.contains("2M"))
    }

    @Test(
        "what the VMM cannot run is refused with the reason",
        arguments: [
            ("<interface type='bridge'><source bridge='br0'/><mtu size='65536'/></interface>", "MTU 65536"),
            ("<interface type='ethernet'/>", "needs <target dev='TAPNAME'/>"),
            ("<disk type='file'><source file='/a,b.img'/><target dev='vda' bus='virtio'/></disk>", "contains a comma"),
        ])
    func refusals(devices: String, reason: String) throws {
        let definition = try Self.definition(devices: devices)
        let error = #expect(throws: ManagementError.self) {
            try VMMCommandLine(definition: definition, files: Self.files)
        }
        #expect(error?.libvirtError.code == .configUnsupported)
        #expect(error?.description.contains(reason) == true, "\(String(describing: error))")
    }

    @Test("no kernel, or a socket path beyond sun_path, is refused")
    func kernelAndPaths() throws {
        let noKernel = try Self.definition(devices: "", os: "<os><type>hvm</type></os>")
        #expect(throws: ManagementError.self) { try VMMCommandLine(definition: noKernel, files: Self.files) }
        let long = DomainRunFiles(directory: "/" + String(repeating: "d", count: 100), name: "web")
        #expect(throws: ManagementError.self) {
            try VMMCommandLine(definition: Self.definition(devices: ""), files: long)
        }
    }
}
