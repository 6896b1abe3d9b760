import LibvirtProtocol

/// Turns a parsed `<domain>` tree into a `DomainDefinition`: takes what is modeled, keeps the rest,
/// and fills libvirt's defaults (generated UUID and MACs, currentMemory = memory, one vCPU).
enum DomainXMLReader {
    static func definition(from root: XMLTreeElement) throws(DomainXMLError) -> DomainDefinition {
        guard root.name == "domain" else {
            throw .invalid("expecting root element of 'domain', not '\(root.name)'")
        }
        let domain = ElementReader(root)
        guard let type = domain.attribute("type") else { throw .invalid("missing domain type attribute") }
        domain.ignoreAttribute("id")

        guard let name = domain.child("name")?.text, !name.isEmpty else { throw .missingName }
        let uuid: DomainUUID
        if let text = domain.child("uuid")?.text {
            guard let parsed = DomainUUID(string: text.trimmingWhitespace) else { throw .malformedUUID(text) }
            uuid = parsed
        } else {
            uuid = .random()
        }

        guard let memoryElement = domain.child("memory") else {
            throw .invalid("Memory size must be specified via <memory> or in the <numa> configuration")
        }
        let memory = try MemorySize.kibibytes(
            memoryElement.text, unit: memoryElement.attribute("unit"), element: "memory")
        var currentMemory = memory
        if let element = domain.child("currentMemory") {
            currentMemory = min(
                try MemorySize.kibibytes(element.text, unit: element.attribute("unit"), element: "currentMemory"),
                memory)
        }

        var virtualCPUs: UInt32 = 1
        if let element = domain.child("vcpu") {
            guard let count = UInt32(element.text.trimmingWhitespace) else {
                throw .invalid("maximum vcpus count must be an integer, not '\(element.text)'")
            }
            virtualCPUs = count
            // `current` (vCPUs online at boot) is checked here and kept unmodeled.
            if let current = element.element.attribute("current") {
                guard let value = UInt32(current.trimmingWhitespace), value >= 1, value <= count else {
                    throw .invalid("Invalid value for attribute 'current' in element 'vcpu': '\(current)'")
                }
            }
            // SwiftVirt pins nothing: only static placement is modeled; 'auto' (numad) stays unmodeled.
            if element.element.attribute("placement") == "static" { _ = element.attribute("placement") }
        }

        guard let osElement = domain.modeledChild("os") else { throw .invalid("an os <type> must be specified") }
        let os = try operatingSystem(osElement)

        var features: [DomainFeature] = []
        if let element = domain.child("features") {
            features = element.element.children.map(DomainFeature.init(element:))
            for child in element.element.children { element.ignoreChildren(child.name) }
        }

        var definition = DomainDefinition(
            name: name, uuid: uuid, hypervisorType: type, memory: memory, currentMemory: currentMemory,
            virtualCPUs: virtualCPUs, os: os, features: features,
            onPoweroff: try lifecycle(domain, "on_poweroff", default: .destroy),
            onReboot: try lifecycle(domain, "on_reboot", default: .restart),
            onCrash: try lifecycle(domain, "on_crash", default: .destroy))
        if let element = domain.modeledChild("devices") {
            definition.devices = try devices(element)
        }
        definition.unmodeled = domain.leftovers()
        return definition
    }

    private static func lifecycle(
        _ domain: ElementReader, _ name: String, default value: LifecycleAction
    ) throws(DomainXMLError) -> LifecycleAction {
        guard let text = domain.child(name)?.text.trimmingWhitespace else { return value }
        guard let action = LifecycleAction(rawValue: text) else {
            throw .invalid("invalid \(name) value: '\(text)'")
        }
        if name != "on_crash", action == .coredumpDestroy || action == .coredumpRestart {
            throw .invalid("invalid \(name) value: '\(text)'")
        }
        return action
    }

    private static func operatingSystem(_ element: ElementReader) throws(DomainXMLError) -> DomainOS {
        guard let typeElement = element.child("type") else { throw .invalid("an os <type> must be specified") }
        var os = DomainOS(
            type: typeElement.text.trimmingWhitespace, architecture: typeElement.attribute("arch") ?? "x86_64",
            machine: typeElement.attribute("machine"))
        os.kernel = element.child("kernel")?.text.trimmingWhitespace
        os.initrd = element.child("initrd")?.text.trimmingWhitespace
        os.commandLine = element.child("cmdline")?.text
        for boot in element.children("boot") {
            guard let device = boot.attribute("dev") else {
                throw .invalid("Missing required attribute 'dev' in element 'boot'")
            }
            os.bootDevices.append(device)
        }
        os.unmodeled = element.leftovers()
        return os
    }

    private static func devices(_ element: ElementReader) throws(DomainXMLError) -> DomainDevices {
        var devices = DomainDevices()
        devices.emulator = element.child("emulator")?.text.trimmingWhitespace
        for disk in element.children("disk") { devices.disks.append(try self.disk(disk)) }
        for interface in element.children("interface") { devices.interfaces.append(try self.interface(interface)) }
        for (index, serial) in element.children("serial").enumerated() {
            devices.serials.append(try characterDevice(serial, index: index, isConsole: false))
        }
        for (index, console) in element.children("console").enumerated() {
            devices.consoles.append(try characterDevice(console, index: index, isConsole: true))
        }
        for rng in element.children("rng") { devices.randomNumberGenerators.append(try randomNumberGenerator(rng)) }
        devices.unmodeled = element.leftovers()
        return devices
    }

    private static func disk(_ element: ElementReader) throws(DomainXMLError) -> DomainDisk {
        let type = element.attribute("type") ?? "file"
        guard type == "file" else {
            throw .unsupported("disk type '\(type)' is not supported; use type='file'")
        }
        let device = element.attribute("device") ?? "disk"
        guard device == "disk" else {
            throw .unsupported("disk device '\(device)' is not supported; use device='disk'")
        }
        let driver = element.child("driver")
        let formatName = driver?.attribute("type") ?? "raw"
        guard let format = DomainDisk.Format(rawValue: formatName) else {
            throw .unsupported("disk format '\(formatName)' is not supported; use 'raw' or 'qcow2'")
        }
        guard let source = element.child("source")?.attribute("file") else {
            throw .invalid("disk has no <source file=...>")
        }
        guard let target = element.child("target"), let targetDevice = target.attribute("dev"), !targetDevice.isEmpty
        else {
            throw .invalid("missing target information for disk with source '\(source)'")
        }
        let bus = target.attribute("bus") ?? (targetDevice.hasPrefix("vd") ? "virtio" : "")
        let readOnly = element.child("readonly") != nil
        let serial = element.child("serial")?.text
        element.ignoreChildren("alias")
        var disk = DomainDisk(
            sourceFile: source, targetDevice: targetDevice, format: format, readOnly: readOnly, serial: serial,
            driverName: driver?.attribute("name") ?? "qemu", targetBus: bus)
        disk.unmodeled = element.leftovers()
        return disk
    }

    private static func interface(_ element: ElementReader) throws(DomainXMLError) -> DomainInterface {
        let type = element.attribute("type") ?? ""
        let source = element.child("source")
        let connection: DomainInterface.Connection
        switch type {
        case "network":
            guard let network = source?.attribute("network") else {
                throw .invalid("No <source> 'network' attribute specified with <interface type='network'/>")
            }
            connection = .network(network)
        case "bridge":
            guard let bridge = source?.attribute("bridge") else {
                throw .invalid("No <source> 'bridge' attribute specified with <interface type='bridge'/>")
            }
            connection = .bridge(bridge)
        case "ethernet":
            connection = .ethernet
        default:
            throw .unsupported("interface type '\(type)' is not supported; use network, bridge or ethernet")
        }
        var macAddress = MACAddress.random()
        if let text = element.child("mac")?.attribute("address") {
            guard let parsed = MACAddress(string: text) else { throw .invalid("unable to parse mac address '\(text)'") }
            guard !parsed.isMulticast else {
                throw .invalid("expected unicast mac address, found multicast '\(text)'")
            }
            macAddress = parsed
        }
        let model = element.child("model")?.attribute("type") ?? "virtio"
        guard model == "virtio" else {
            throw .unsupported("interface model '\(model)' is not supported; use 'virtio'")
        }
        let targetDevice = element.child("target")?.attribute("dev")
        var mtu: UInt32?
        if let text = element.child("mtu")?.attribute("size") {
            guard let size = UInt32(text), size > 0 else {
                throw .invalid(
                    "Invalid value for attribute 'size' in element 'mtu': '\(text)'. Expected non-zero value")
            }
            mtu = size
        }
        element.ignoreChildren("alias")
        var interface = DomainInterface(
            connection: connection, macAddress: macAddress, model: model, targetDevice: targetDevice, mtu: mtu)
        interface.unmodeled = element.leftovers()
        return interface
    }

    private static func randomNumberGenerator(_ element: ElementReader) throws(DomainXMLError) -> DomainRNG {
        let model = element.attribute("model") ?? ""
        guard model == "virtio" else {
            throw .unsupported("rng model '\(model)' is not supported; use model='virtio'")
        }
        guard let backend = element.child("backend") else { throw .invalid("missing RNG device backend") }
        let backendModel = backend.attribute("model") ?? ""
        guard backendModel == "random" else {
            throw .unsupported("rng backend model '\(backendModel)' is not supported; use model='random'")
        }
        let source = backend.text.trimmingWhitespace
        var rng = DomainRNG()
        if !source.isEmpty {
            guard DomainRNG.honouredSources.contains(source) else {
                throw .unsupported(
                    "rng backend source '\(source)' is not supported: the VMM reads getrandom(2); use /dev/urandom")
            }
            rng.backendSource = source
        }
        element.ignoreChildren("alias")
        rng.unmodeled = element.leftovers()
        return rng
    }

    private static func characterDevice(
        _ element: ElementReader, index: Int, isConsole: Bool
    ) throws(DomainXMLError) -> DomainCharacterDevice {
        let kind = isConsole ? "console" : "serial"
        let type = element.attribute("type") ?? ""
        guard type == "pty" else {
            throw .unsupported("\(kind) type '\(type)' is not supported; use type='pty'")
        }
        // The pty path and tty are assigned when the domain starts; given ones are dropped like libvirt does.
        element.ignoreAttribute("tty")
        if let source = element.child("source") { source.ignoreAttribute("path") }
        element.ignoreChildren("alias")
        var port = UInt32(index)
        var targetType: DomainCharacterDevice.TargetType?
        if let target = element.child("target") {
            if let text = target.attribute("port") {
                guard let value = UInt32(text) else {
                    throw .invalid("Invalid value for attribute 'port' in element 'target': '\(text)'")
                }
                port = value
            }
            if isConsole {
                let name = target.attribute("type") ?? "serial"
                guard let parsed = DomainCharacterDevice.TargetType(rawValue: name) else {
                    throw .unsupported("console target type '\(name)' is not supported; use 'serial'")
                }
                targetType = parsed
            }
        }
        if isConsole, targetType == nil { targetType = .serial }
        var device = DomainCharacterDevice(port: port, targetType: targetType)
        device.unmodeled = element.leftovers()
        return device
    }
}
