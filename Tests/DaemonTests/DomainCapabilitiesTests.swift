import Foundation
import LibvirtProtocol
import Testing

@testable import swiftvirtd

/// CONNECT_GET_DOMAIN_CAPABILITIES: the document, and libvirt's QEMU-driver errors for requests the
/// daemon cannot satisfy.
@Suite("domain capabilities")
struct DomainCapabilitiesTests {
    static let vmm = "/usr/libexec/swiftvirt-test"

    static func resolve(
        emulator: String? = nil, arch: String? = nil, machine: String? = nil, virttype: String? = nil,
        flags: UInt32 = 0, fileExists: @escaping (String) -> Bool = { _ in true }
    ) -> Result<DomainCapabilities, LibvirtError> {
        Result { () throws(LibvirtError) in
            try DomainCapabilities.resolve(
                ConnectGetDomainCapabilitiesArgs(
                    emulatorPath: emulator, architecture: arch, machine: machine, virtualizationType: virttype,
                    flags: flags),
                emulatorPath: vmm, fileExists: fileExists)
        }
    }

    @Test("defaults and every request the daemon satisfies: kvm, qemu, none, x86_64, pc, its own VMM")
    func satisfiable() throws {
        let defaults = try Self.resolve().get()
        #expect(defaults == DomainCapabilities(emulatorPath: Self.vmm, virtualizationType: "kvm", maxVirtualCPUs: 254))
        #expect(try Self.resolve(virttype: "qemu").get().virtualizationType == "qemu")
        #expect(try Self.resolve(virttype: "none").get().virtualizationType == "kvm")
        let explicit = try Self.resolve(emulator: Self.vmm, arch: "x86_64", machine: "pc", virttype: "kvm").get()
        #expect(explicit == defaults)
    }

    @Test("refusals carry libvirt's codes and words, checked in libvirt's order")
    func refusals() {
        let cases: [(Result<DomainCapabilities, LibvirtError>, LibvirtErrorCode, String)] = [
            (Self.resolve(virttype: "bogus"), .invalidArgument, "invalid argument: unknown virttype: bogus"),
            (Self.resolve(virttype: "KVM"), .invalidArgument, "invalid argument: unknown virttype: KVM"),
            (
                Self.resolve(virttype: "xen"), .invalidArgument,
                "invalid argument: the accel 'tcg' is not supported by '\(Self.vmm)' on this host"
            ),
            (
                Self.resolve(virttype: "hvf"), .invalidArgument,
                "invalid argument: the accel 'hvf' is not supported by '\(Self.vmm)' on this host"
            ),
            (Self.resolve(arch: "amd64"), .invalidArgument, "invalid argument: unknown architecture: amd64"),
            (
                Self.resolve(arch: "aarch64"), .configUnsupported,
                "unsupported configuration: unable to find any emulator to serve 'aarch64' architecture"
            ),
            (
                Self.resolve(arch: "i686"), .configUnsupported,
                "unsupported configuration: unable to find any emulator to serve 'i686' architecture"
            ),
            (
                Self.resolve(emulator: Self.vmm, arch: "aarch64"), .invalidArgument,
                "invalid argument: architecture from emulator 'x86_64' doesn't match given architecture 'aarch64'"
            ),
            (
                Self.resolve(emulator: "/nonexistent/qemu", fileExists: { _ in false }), .systemError,
                "Cannot check QEMU binary /nonexistent/qemu: No such file or directory"
            ),
            (
                Self.resolve(emulator: "/usr/bin/qemu-system-x86_64"), .invalidArgument,
                "invalid argument: the emulator '/usr/bin/qemu-system-x86_64' is not supported: this daemon runs "
                    + "the SwiftVirt VMM '\(Self.vmm)'"
            ),
            (
                Self.resolve(machine: "q35"), .invalidArgument,
                "invalid argument: the machine 'q35' is not supported by emulator '\(Self.vmm)'"
            ),
            (
                Self.resolve(flags: 1), .invalidArgument,
                "unsupported flags (0x1) in function qemuConnectGetDomainCapabilities"
            ),
            // libvirt checks the domain type before the architecture and the architecture before the machine.
            (
                Self.resolve(arch: "bogus", virttype: "bogus"), .invalidArgument,
                "invalid argument: unknown virttype: bogus"
            ),
            (
                Self.resolve(arch: "aarch64", machine: "q35", virttype: "kvm"), .configUnsupported,
                "unsupported configuration: unable to find any emulator to serve 'aarch64' architecture"
            ),
        ]
        for (result, code, message) in cases {
            guard case .failure(let error) = result else {
                Issue.record("expected '\(message)', got \(result)")
                continue
            }
            #expect(error.code == code, "\(error)")
            #expect(error.domain == .qemu, "\(error)")
            #expect(error.message == message)
        }
    }

    @Test("the document names the VMM, pc, 254 vCPUs, no firmware loader and only what the VMM does")
    func document() throws {
        let xml = try Self.resolve().get().xml
        for fragment in [
            "<domainCapabilities>\n  <path>\(Self.vmm)</path>\n  <domain>kvm</domain>\n  <machine>pc</machine>\n"
                + "  <arch>x86_64</arch>\n  <vcpu max='254'/>\n  <iothreads supported='no'/>\n",
            "  <os supported='yes'>\n    <loader supported='no'/>\n  </os>\n",
            "    <mode name='host-passthrough' supported='yes'>\n      <enum name='hostPassthroughMigratable'>\n"
                + "        <value>off</value>\n      </enum>\n    </mode>\n",
            "<mode name='host-model' supported='no'/>", "<mode name='custom' supported='no'/>",
            "    <disk supported='yes'>\n      <enum name='diskDevice'>\n        <value>disk</value>\n      </enum>\n"
                + "      <enum name='bus'>\n        <value>virtio</value>\n      </enum>\n",
            "<graphics supported='no'/>", "<hostdev supported='no'/>", "<filesystem supported='no'/>",
            "      <enum name='backendModel'>\n        <value>random</value>\n      </enum>\n    </rng>\n",
            "    <console supported='yes'>\n      <enum name='type'>\n        <value>pty</value>\n",
            "<sev supported='no'/>",
        ] {
            #expect(xml.contains(fragment), "missing \(fragment) in \(xml)")
        }
        let escaped = try DomainCapabilities.resolve(
            ConnectGetDomainCapabilitiesArgs(), emulatorPath: "/opt/a&b/swiftvirt"
        ).xml
        #expect(escaped.contains("<path>/opt/a&amp;b/swiftvirt</path>"))
    }

    @Test("virsh domcapabilities and capabilities agree on the VMM and machine; errors reach virsh")
    func virsh() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let capabilities = try await daemon.virsh("capabilities")
            #expect(capabilities.output.contains("<emulator>\(Self.vmm)</emulator>"), "\(capabilities)")
            #expect(capabilities.output.contains("<machine maxCpus='254'>pc</machine>"), "\(capabilities)")
            #expect(try await daemon.virsh("maxvcpus").output.hasPrefix("254\n"))

            let domcapabilities = try await daemon.virsh("domcapabilities")
            #expect(domcapabilities.status == 0, "\(domcapabilities)")
            #expect(domcapabilities.output.contains("<path>\(Self.vmm)</path>"), "\(domcapabilities)")
            #expect(domcapabilities.output.contains("<machine>pc</machine>"))
            let asQEMU = try await daemon.virsh(
                "domcapabilities", "--virttype", "qemu", "--arch", "x86_64", "--machine", "pc", "--emulatorbin",
                Self.vmm)
            #expect(asQEMU.output.contains("<domain>qemu</domain>"), "\(asQEMU)")

            let arm = try await daemon.virsh("domcapabilities", "--arch", "aarch64")
            #expect(arm.status == 1)
            #expect(
                arm.error.contains(
                    "error: unsupported configuration: unable to find any emulator to serve 'aarch64' architecture"),
                "\(arm)")
            let xen = try await daemon.virsh("domcapabilities", "--virttype", "xen")
            #expect(xen.error.contains("the accel 'tcg' is not supported by '\(Self.vmm)' on this host"), "\(xen)")
        }
    }

    @Test("python3-libvirt getDomainCapabilities")
    func python() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let script = """
                import libvirt, sys
                import xml.etree.ElementTree as ET
                libvirt.registerErrorHandler(lambda *args: None, None)
                conn = libvirt.open(sys.argv[1])
                caps = ET.fromstring(conn.getDomainCapabilities())
                print("path", caps.findtext("path"), "domain", caps.findtext("domain"),
                      "machine", caps.findtext("machine"), "vcpu", caps.find("vcpu").get("max"))
                print("loader", caps.find("os/loader").get("supported"))
                print("modes", [(m.get("name"), m.get("supported")) for m in caps.findall("cpu/mode")])
                print("disk", [v.text for v in caps.findall("devices/disk/enum[@name='bus']/value")])
                try:
                    conn.getDomainCapabilities(None, "x86_64", "q35", "kvm", 0)
                except libvirt.libvirtError as e:
                    print("error", e.get_error_code(), e.get_error_domain(), e.get_error_message())
                conn.close()
                """
            let result = try await daemon.python(script)
            #expect(result.status == 0, "\(result)")
            for line in [
                "path \(Self.vmm) domain kvm machine pc vcpu 254",
                "loader no",
                "modes [('host-passthrough', 'yes'), ('maximum', 'no'), ('host-model', 'no'), ('custom', 'no')]",
                "disk ['virtio']",
                "error 8 10 invalid argument: the machine 'q35' is not supported by emulator '\(Self.vmm)'",
            ] {
                #expect(result.output.contains(line), "missing \(line) in \(result)")
            }
        }
    }
}
