import LibvirtProtocol

/// A libvirt domain description (`<domain>`, https://libvirt.org/formatdomain.html) as a validated
/// value: `parse` reads and checks it, `xml(live:)` writes it back in libvirt's shape. Elements and
/// attributes SwiftVirt does not model are kept in `unmodeled` and listed in `warnings`.
public struct DomainDefinition: Hashable, Sendable {
    /// The most vCPUs a SwiftVirt machine takes: the VMM's ceiling, `MachineConfig.maximumVCPUs`.
    public static let maxVirtualCPUs: UInt32 = 254

    /// `<domain type=...>`: "kvm" (or "qemu", which SwiftVirt also runs on KVM).
    public var hypervisorType: String
    public var name: String
    public var uuid: DomainUUID
    /// Maximum memory in KiB (`<memory>`).
    public var memory: UInt64
    /// Memory at boot in KiB (`<currentMemory>`); never more than `memory`.
    public var currentMemory: UInt64
    public var virtualCPUs: UInt32
    public var os: DomainOS
    public var features: [DomainFeature]
    public var onPoweroff: LifecycleAction
    public var onReboot: LifecycleAction
    public var onCrash: LifecycleAction
    public var devices: DomainDevices
    /// Top-level elements and `<domain>` attributes that are not modeled.
    public internal(set) var unmodeled: UnmodeledXML

    public init(
        name: String, uuid: DomainUUID = .random(), hypervisorType: String = "kvm", memory: UInt64,
        currentMemory: UInt64? = nil, virtualCPUs: UInt32 = 1, os: DomainOS = DomainOS(),
        features: [DomainFeature] = [DomainFeature(name: "acpi"), DomainFeature(name: "apic")],
        onPoweroff: LifecycleAction = .destroy, onReboot: LifecycleAction = .restart,
        onCrash: LifecycleAction = .destroy, devices: DomainDevices = DomainDevices()
    ) {
        self.hypervisorType = hypervisorType
        self.name = name
        self.uuid = uuid
        self.memory = memory
        self.currentMemory = min(currentMemory ?? memory, memory)
        self.virtualCPUs = virtualCPUs
        self.os = os
        self.features = features
        self.onPoweroff = onPoweroff
        self.onReboot = onReboot
        self.onCrash = onCrash
        self.devices = devices
        self.unmodeled = UnmodeledXML()
    }

    /// Parses and validates libvirt domain XML.
    public static func parse(_ xml: String) throws(DomainXMLError) -> DomainDefinition {
        let root = try XMLTreeParser.parse(xml)
        var definition = try DomainXMLReader.definition(from: root)
        definition.normalizeConsoles()
        try definition.validate()
        return definition
    }

    /// libvirt-shaped XML. With `live`, the running parts are included (the domain id, pty paths).
    public func xml(live: DomainLiveState? = nil) -> String {
        XMLTreeWriter.string(for: DomainXMLFormatter.element(for: self, live: live))
    }

    /// What is kept but not used, one sentence each (for logs and `virsh dominfo` messages).
    public var warnings: [String] {
        var result = unmodeled.warnings(at: "domain")
        result += os.unmodeled.warnings(at: "domain/os")
        result += devices.unmodeled.warnings(at: "domain/devices")
        for disk in devices.disks { result += disk.unmodeled.warnings(at: "domain/devices/disk") }
        for interface in devices.interfaces {
            result += interface.unmodeled.warnings(at: "domain/devices/interface")
        }
        for serial in devices.serials { result += serial.unmodeled.warnings(at: "domain/devices/serial") }
        for console in devices.consoles { result += console.unmodeled.warnings(at: "domain/devices/console") }
        for rng in devices.randomNumberGenerators { result += rng.unmodeled.warnings(at: "domain/devices/rng") }
        return result
    }

    /// Checks the rules libvirt and SwiftVirt's VMM impose beyond well-formedness.
    public func validate() throws(DomainXMLError) {
        guard hypervisorType == "kvm" || hypervisorType == "qemu" else {
            throw .unsupported("domain type '\(hypervisorType)' is not supported; use 'kvm'")
        }
        guard !name.isEmpty else { throw .missingName }
        guard !name.contains("/") else { throw .invalid("name \(name) cannot contain '/'") }
        guard memory > 0 else {
            throw .invalid("Memory size must be specified via <memory> or in the <numa> configuration")
        }
        guard currentMemory <= memory else {
            throw .invalid("current memory \(currentMemory) KiB exceeds maximum memory \(memory) KiB")
        }
        guard virtualCPUs >= 1 else { throw .invalid("Invalid number of vCPUs: 0") }
        guard virtualCPUs <= Self.maxVirtualCPUs else {
            throw .unsupported("\(virtualCPUs) vCPUs exceed the maximum of \(Self.maxVirtualCPUs)")
        }
        try os.validate()
        try devices.validate()
    }

    /// libvirt pairs the first serial port with a console: a console alone gets its serial port and a
    /// serial port alone gets a console, so both always show in `dumpxml`.
    mutating func normalizeConsoles() {
        if let console = devices.consoles.first, console.targetType == .serial,
            !devices.serials.contains(where: { $0.port == console.port })
        {
            devices.serials.insert(DomainCharacterDevice(port: console.port), at: 0)
        }
        if devices.consoles.isEmpty, let serial = devices.serials.first {
            devices.consoles.append(DomainCharacterDevice(port: serial.port, targetType: .serial))
        }
    }
}

/// What happens when the guest powers off, reboots or crashes (`<on_poweroff>` and friends).
public enum LifecycleAction: String, Hashable, Sendable, CaseIterable {
    case destroy
    case restart
    case preserve
    case renameRestart = "rename-restart"
    case coredumpDestroy = "coredump-destroy"
    case coredumpRestart = "coredump-restart"
}

/// One element of `<features>` (`<acpi/>`, `<apic/>`, `<pae/>`...), kept whole with its attributes and
/// children so it round-trips.
public struct DomainFeature: Hashable, Sendable {
    public var element: XMLTreeElement
    public var name: String { element.name }

    public init(name: String) {
        element = XMLTreeElement(name: name)
    }

    init(element: XMLTreeElement) {
        self.element = element
    }
}

/// The parts of a domain that exist only while it runs, for `dumpxml` of an active domain.
public struct DomainLiveState: Hashable, Sendable {
    /// The domain id (`<domain id=...>`).
    public var id: Int32
    /// The host pty of each serial port, keyed by the port's target number.
    public var serialPTYPaths: [UInt32: String]

    public init(id: Int32, serialPTYPaths: [UInt32: String] = [:]) {
        self.id = id
        self.serialPTYPaths = serialPTYPaths
    }
}
