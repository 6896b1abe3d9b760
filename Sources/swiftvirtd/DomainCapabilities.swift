import DomainXML
import LibvirtProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// CONNECT_GET_DOMAIN_CAPABILITIES (`virsh domcapabilities`): what a domain on this daemon may ask for,
/// in libvirt's `<domainCapabilities>` shape. Only what the daemon passes on to the VMM is said to be
/// supported; everything the domain XML parser merely keeps (graphics, host devices, firmware) is not.
struct DomainCapabilities: Hashable, Sendable {
    /// The one machine type, the name `virsh capabilities` lists too.
    static let machine = "pc"
    static let architecture = "x86_64"

    /// `<path>`: the VMM executable.
    var emulatorPath: String
    /// `<domain>`: "kvm", or "qemu" when asked for (the daemon runs both on KVM).
    var virtualizationType: String
    var maxVirtualCPUs: UInt32

    /// libvirt's domain type names (virDomainVirtType), for telling an unknown one from one this daemon
    /// does not run. "none" asks for the default.
    private static let knownVirtualizationTypes: Set<String> = [
        "none", "qemu", "kqemu", "kvm", "xen", "lxc", "uml", "openvz", "test", "vmware", "hyperv", "vbox",
        "phyp", "parallels", "bhyve", "vz", "hvf",
    ]

    /// libvirt's architecture names (virArch).
    private static let knownArchitectures: Set<String> = [
        "i686", "x86_64", "alpha", "armv6l", "armv7l", "armv7b", "aarch64", "cris", "ia64", "lm32", "m68k",
        "microblaze", "microblazeel", "mips", "mipsel", "mips64", "mips64el", "openrisc", "parisc", "parisc64",
        "ppc", "ppcle", "ppc64", "ppc64le", "ppcemb", "riscv32", "riscv64", "s390", "s390x", "sh4", "sh4eb",
        "sparc", "sparc64", "unicore32", "xtensa", "xtensaeb",
    ]

    /// The capabilities for a client's request, or the error libvirt's QEMU driver gives for the same
    /// request, checked in its order: domain type, architecture, emulator, accelerator, machine.
    /// `fileExists` tells a missing emulator from one that is not ours.
    static func resolve(
        _ request: ConnectGetDomainCapabilitiesArgs, emulatorPath: String,
        fileExists: (String) -> Bool = { access($0, F_OK) == 0 }
    ) throws(LibvirtError) -> DomainCapabilities {
        guard request.flags == 0 else {
            // virCheckFlags' message has no "invalid argument" prefix.
            throw LibvirtError(
                code: .invalidArgument, domain: .qemu,
                message: "unsupported flags (0x\(String(request.flags, radix: 16))) in function "
                    + "qemuConnectGetDomainCapabilities")
        }
        let requestedType = request.virtualizationType.flatMap { $0 == "none" ? nil : $0 }
        if let requestedType, !knownVirtualizationTypes.contains(requestedType) {
            throw .qemuInvalidArgument("unknown virttype: \(requestedType)")
        }
        if let architecture = request.architecture, !knownArchitectures.contains(architecture) {
            throw .qemuInvalidArgument("unknown architecture: \(architecture)")
        }
        if let requested = request.emulatorPath, requested != emulatorPath {
            guard fileExists(requested) else {
                throw LibvirtError(
                    code: .systemError, domain: .qemu,
                    message: "Cannot check QEMU binary \(requested): No such file or directory")
            }
            throw .qemuInvalidArgument(
                "the emulator '\(requested)' is not supported: this daemon runs the SwiftVirt VMM '\(emulatorPath)'")
        }
        if let architecture = request.architecture, architecture != Self.architecture {
            if request.emulatorPath != nil {
                throw .qemuInvalidArgument(
                    "architecture from emulator '\(Self.architecture)' doesn't match given architecture "
                        + "'\(architecture)'")
            }
            throw LibvirtError(
                code: .configUnsupported, domain: .qemu,
                message:
                    "unsupported configuration: unable to find any emulator to serve '\(architecture)' architecture")
        }
        let type = requestedType ?? "kvm"
        guard type == "kvm" || type == "qemu" else {
            // libvirt names the accelerator a domain type would need: hvf, else TCG.
            let accelerator = type == "hvf" ? "hvf" : "tcg"
            throw .qemuInvalidArgument(
                "the accel '\(accelerator)' is not supported by '\(emulatorPath)' on this host")
        }
        if let machine = request.machine, machine != Self.machine {
            throw .qemuInvalidArgument("the machine '\(machine)' is not supported by emulator '\(emulatorPath)'")
        }
        return DomainCapabilities(
            emulatorPath: emulatorPath, virtualizationType: type, maxVirtualCPUs: DomainDefinition.maxVirtualCPUs)
    }

    /// The `<domainCapabilities>` document. Direct kernel boot only, so `<os>` has no firmware loader;
    /// the vCPUs see the host's CPUID (host-passthrough); disks are virtio-blk, the RNG virtio-rng on
    /// the host's getrandom, serial consoles ptys. No graphics, host devices or shared filesystems.
    var xml: String {
        let root = XMLTreeElement(
            name: "domainCapabilities",
            children: [
                XMLTreeElement(name: "path", text: emulatorPath),
                XMLTreeElement(name: "domain", text: virtualizationType),
                XMLTreeElement(name: "machine", text: Self.machine),
                XMLTreeElement(name: "arch", text: Self.architecture),
                XMLTreeElement(name: "vcpu", attributes: [XMLAttribute("max", String(maxVirtualCPUs))]),
                Self.support("iothreads", false),
                Self.support("os", true, [Self.support("loader", false)]),
                XMLTreeElement(
                    name: "cpu",
                    children: [
                        Self.cpuMode(
                            "host-passthrough", true, [Self.enumeration("hostPassthroughMigratable", ["off"])]),
                        Self.cpuMode("maximum", false),
                        Self.cpuMode("host-model", false),
                        Self.cpuMode("custom", false),
                    ]),
                Self.support("memoryBacking", false),
                XMLTreeElement(name: "devices", children: Self.devices),
                XMLTreeElement(
                    name: "features",
                    children: ["gic", "vmcoreinfo", "genid", "backingStoreInput", "backup", "sev", "sgx", "hyperv"]
                        .map { Self.support($0, false) }),
            ])
        return root.formatted
    }

    /// Each device class with the values the daemon passes on: `<console>` is libvirt's newer element,
    /// which older clients skip.
    private static let devices: [XMLTreeElement] = [
        support(
            "disk", true,
            [enumeration("diskDevice", ["disk"]), enumeration("bus", ["virtio"]), enumeration("model", ["virtio"])]),
        support("graphics", false),
        support("video", true, [enumeration("modelType", ["none"])]),
        support("hostdev", false),
        support("rng", true, [enumeration("model", ["virtio"]), enumeration("backendModel", ["random"])]),
        support("filesystem", false),
        support("tpm", false),
        support("redirdev", false),
        support("channel", false),
        support("console", true, [enumeration("type", ["pty"])]),
    ]

    private static func support(_ name: String, _ supported: Bool, _ children: [XMLTreeElement] = [])
        -> XMLTreeElement
    {
        XMLTreeElement(
            name: name, attributes: [XMLAttribute("supported", supported ? "yes" : "no")], children: children)
    }

    private static func cpuMode(_ name: String, _ supported: Bool, _ children: [XMLTreeElement] = [])
        -> XMLTreeElement
    {
        var mode = support("mode", supported, children)
        mode.attributes.insert(XMLAttribute("name", name), at: 0)
        return mode
    }

    private static func enumeration(_ name: String, _ values: [String]) -> XMLTreeElement {
        XMLTreeElement(
            name: "enum", attributes: [XMLAttribute("name", name)],
            children: values.map { XMLTreeElement(name: "value", text: $0) })
    }
}

extension LibvirtError {
    /// VIR_ERR_INVALID_ARG as libvirt's QEMU driver raises it.
    fileprivate static func qemuInvalidArgument(_ detail: String) -> LibvirtError {
        LibvirtError(code: .invalidArgument, domain: .qemu, message: "invalid argument: \(detail)")
    }
}
