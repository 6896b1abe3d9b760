/// Builds the `<domain>` tree for a definition in the element order libvirt's formatter uses, then
/// puts kept unmodeled parts back where libvirt would have them.
enum DomainXMLFormatter {
    /// Top-level elements libvirt writes right after `<uuid>`.
    private static let earlyElements: Set<String> = ["genid", "title", "description", "metadata"]
    /// Top-level elements libvirt writes after `<devices>`.
    private static let lateElements: Set<String> = ["pm", "perf", "seclabel", "keywrap", "launchSecurity"]

    static func element(for definition: DomainDefinition, live: DomainLiveState?) -> XMLTreeElement {
        var domain = XMLTreeElement(name: "domain", attributes: [XMLAttribute("type", definition.hypervisorType)])
        if let live { domain.attributes.append(XMLAttribute("id", String(live.id))) }
        domain.children.append(text("name", definition.name))
        domain.children.append(text("uuid", definition.uuid.description))

        let kept = definition.unmodeled.elements
        domain.children += kept.filter { earlyElements.contains($0.name) }
        domain.children.append(text("memory", String(definition.memory), [XMLAttribute("unit", "KiB")]))
        domain.children.append(
            text("currentMemory", String(definition.currentMemory), [XMLAttribute("unit", "KiB")]))
        let keptPlacement = definition.unmodeled.nested["vcpu"]?.attributes.contains { $0.name == "placement" } ?? false
        domain.children.append(
            text("vcpu", String(definition.virtualCPUs), keptPlacement ? [] : [XMLAttribute("placement", "static")]))
        domain.children.append(os(definition.os))
        if !definition.features.isEmpty {
            domain.children.append(
                XMLTreeElement(name: "features", children: definition.features.map(\.element)))
        }
        domain.children += kept.filter { !earlyElements.contains($0.name) && !lateElements.contains($0.name) }
        domain.children.append(text("on_poweroff", definition.onPoweroff.rawValue))
        domain.children.append(text("on_reboot", definition.onReboot.rawValue))
        domain.children.append(text("on_crash", definition.onCrash.rawValue))
        domain.children.append(devices(definition.devices, live: live))
        domain.children += kept.filter { lateElements.contains($0.name) }

        var attributesOnly = definition.unmodeled
        attributesOnly.elements = []
        attributesOnly.merge(into: &domain)
        return domain
    }

    private static func text(_ name: String, _ value: String, _ attributes: [XMLAttribute] = []) -> XMLTreeElement {
        XMLTreeElement(name: name, attributes: attributes, text: value)
    }

    private static func os(_ os: DomainOS) -> XMLTreeElement {
        var typeAttributes = [XMLAttribute("arch", os.architecture)]
        if let machine = os.machine { typeAttributes.append(XMLAttribute("machine", machine)) }
        var element = XMLTreeElement(name: "os", children: [text("type", os.type, typeAttributes)])
        if let kernel = os.kernel { element.children.append(text("kernel", kernel)) }
        if let initrd = os.initrd { element.children.append(text("initrd", initrd)) }
        if let commandLine = os.commandLine { element.children.append(text("cmdline", commandLine)) }
        for device in os.bootDevices {
            element.children.append(XMLTreeElement(name: "boot", attributes: [XMLAttribute("dev", device)]))
        }
        os.unmodeled.merge(into: &element)
        return element
    }

    private static func devices(_ devices: DomainDevices, live: DomainLiveState?) -> XMLTreeElement {
        var element = XMLTreeElement(name: "devices")
        if let emulator = devices.emulator { element.children.append(text("emulator", emulator)) }
        element.children += devices.disks.map(disk)
        element.children += devices.interfaces.map(interface)
        for serial in devices.serials {
            element.children.append(characterDevice("serial", serial, live: live))
        }
        for console in devices.consoles {
            element.children.append(characterDevice("console", console, live: live))
        }
        element.children += devices.randomNumberGenerators.map(randomNumberGenerator)
        devices.unmodeled.merge(into: &element)
        return element
    }

    private static func disk(_ disk: DomainDisk) -> XMLTreeElement {
        var element = XMLTreeElement(
            name: "disk", attributes: [XMLAttribute("type", "file"), XMLAttribute("device", "disk")],
            children: [
                XMLTreeElement(
                    name: "driver",
                    attributes: [XMLAttribute("name", disk.driverName), XMLAttribute("type", disk.format.rawValue)]),
                XMLTreeElement(name: "source", attributes: [XMLAttribute("file", disk.sourceFile)]),
                XMLTreeElement(
                    name: "target",
                    attributes: [XMLAttribute("dev", disk.targetDevice), XMLAttribute("bus", disk.targetBus)]),
            ])
        if disk.readOnly { element.children.append(XMLTreeElement(name: "readonly")) }
        if let serial = disk.serial { element.children.append(text("serial", serial)) }
        disk.unmodeled.merge(into: &element)
        return element
    }

    private static func interface(_ interface: DomainInterface) -> XMLTreeElement {
        var element = XMLTreeElement(
            name: "interface", attributes: [XMLAttribute("type", interface.connection.typeName)],
            children: [
                XMLTreeElement(name: "mac", attributes: [XMLAttribute("address", interface.macAddress.description)])
            ])
        switch interface.connection {
        case .network(let network):
            element.children.append(XMLTreeElement(name: "source", attributes: [XMLAttribute("network", network)]))
        case .bridge(let bridge):
            element.children.append(XMLTreeElement(name: "source", attributes: [XMLAttribute("bridge", bridge)]))
        case .ethernet:
            break
        }
        if let target = interface.targetDevice {
            element.children.append(XMLTreeElement(name: "target", attributes: [XMLAttribute("dev", target)]))
        }
        element.children.append(XMLTreeElement(name: "model", attributes: [XMLAttribute("type", interface.model)]))
        if let mtu = interface.mtu {
            element.children.append(XMLTreeElement(name: "mtu", attributes: [XMLAttribute("size", String(mtu))]))
        }
        interface.unmodeled.merge(into: &element)
        return element
    }

    private static func randomNumberGenerator(_ rng: DomainRNG) -> XMLTreeElement {
        var element = XMLTreeElement(
            name: "rng", attributes: [XMLAttribute("model", "virtio")],
            children: [
                XMLTreeElement(name: "backend", attributes: [XMLAttribute("model", "random")], text: rng.backendSource)
            ])
        rng.unmodeled.merge(into: &element)
        return element
    }

    private static func characterDevice(
        _ name: String, _ device: DomainCharacterDevice, live: DomainLiveState?
    ) -> XMLTreeElement {
        var element = XMLTreeElement(name: name, attributes: [XMLAttribute("type", "pty")])
        if let path = live?.serialPTYPaths[device.port] {
            if name == "console" { element.attributes.append(XMLAttribute("tty", path)) }
            element.children.append(XMLTreeElement(name: "source", attributes: [XMLAttribute("path", path)]))
        }
        var targetAttributes: [XMLAttribute] = []
        if let targetType = device.targetType { targetAttributes.append(XMLAttribute("type", targetType.rawValue)) }
        targetAttributes.append(XMLAttribute("port", String(device.port)))
        element.children.append(XMLTreeElement(name: "target", attributes: targetAttributes))
        device.unmodeled.merge(into: &element)
        return element
    }
}
