import DomainXML

/// The `swiftvirt run` invocation for a domain: the bridge from libvirt's model to the VMM's CLI.
///
/// `swiftvirt run --kernel K [--initrd I] [--cmdline C] --memory <MiB>M --cpus N
///  [--disk path=P[,readonly=on][,format=qcow2][,serial=S]]... [--net tap=NAME|fd=N,mac=M[,mtu=U]]... [--rng]
///  --serial socket=<run>/<name>.serial --control-socket <run>/<name>.ctl`
///
/// Whatever the VMM cannot run is refused here, before anything is spawned, with the reason.
struct VMMCommandLine: Hashable, Sendable {
    /// The descriptor number the first passed tap gets in the VMM; the next ones follow in the order
    /// of the domain's bridge interfaces.
    static let firstTapDescriptor: Int32 = 3

    /// The arguments after the executable.
    var arguments: [String]
    /// Files the VMM opens at start (kernel, initrd, disk images), checked before spawning so a
    /// missing one is reported plainly.
    var inputFiles: [String]

    init(definition: DomainDefinition, files: DomainRunFiles) throws(ManagementError) {
        let name = definition.name
        guard let kernel = definition.os.kernel, !kernel.isEmpty else {
            throw .unsupportedConfiguration(
                "domain '\(name)' has no <os><kernel>: SwiftVirt boots a Linux kernel directly; "
                    + "add <kernel>/path/to/vmlinux</kernel> (and usually <cmdline>)")
        }
        for path in [files.serialSocket, files.controlSocket] where path.utf8.count > UnixSocket.maxPathLength {
            throw .unsupportedConfiguration(
                "the socket path '\(path)' is longer than \(UnixSocket.maxPathLength) bytes; "
                    + "use a shorter domain name or --run-dir")
        }
        var arguments = ["run", "--kernel", kernel]
        var inputFiles = [kernel]
        if let initrd = definition.os.initrd {
            arguments += ["--initrd", initrd]
            inputFiles.append(initrd)
        }
        // Without <cmdline> the VMM's default applies (serial console on ttyS0).
        if let commandLine = definition.os.commandLine { arguments += ["--cmdline", commandLine] }
        arguments += ["--memory", "\(Self.mebibytes(kibibytes: definition.memory))M"]
        arguments += ["--cpus", String(definition.virtualCPUs)]

        for disk in Self.inGuestOrder(definition.devices.disks) {
            arguments += ["--disk", try Self.diskOption(disk)]
            inputFiles.append(disk.sourceFile)
        }
        var passedTaps: Int32 = 0
        for interface in definition.devices.interfaces {
            let descriptor = Self.firstTapDescriptor + passedTaps
            if interface.connection.usesPassedTap { passedTaps += 1 }
            arguments += ["--net", try Self.networkOption(interface, passedDescriptor: descriptor)]
        }
        if !definition.devices.randomNumberGenerators.isEmpty { arguments.append("--rng") }
        arguments += ["--serial", "socket=" + files.serialSocket, "--control-socket", files.controlSocket]
        self.arguments = arguments
        self.inputFiles = inputFiles
    }

    /// Guest RAM in whole MiB, rounded up: the VMM takes MiB and libvirt's KiB may not divide evenly.
    static func mebibytes(kibibytes: UInt64) -> UInt64 {
        kibibytes / 1024 + (kibibytes % 1024 == 0 ? 0 : 1)
    }

    /// The VMM names disks vda, vdb... in the order given; libvirt names them by `<target dev>`, so
    /// they are passed sorted the way Linux names them (vdz comes before vdaa).
    static func inGuestOrder(_ disks: [DomainDisk]) -> [DomainDisk] {
        disks.sorted {
            ($0.targetDevice.utf8.count, $0.targetDevice) < ($1.targetDevice.utf8.count, $1.targetDevice)
        }
    }

    static func diskOption(_ disk: DomainDisk) throws(ManagementError) -> String {
        var option = "path=" + (try value(disk.sourceFile, what: "disk source"))
        if disk.readOnly { option += ",readonly=on" }
        // The VMM opens raw images by default; format= is only passed when it is something else.
        if disk.format != .raw { option += ",format=" + disk.format.rawValue }
        if let serial = disk.serial { option += ",serial=" + (try value(serial, what: "disk serial")) }
        return option
    }

    /// A bridge or network interface's tap is created by the daemon and passed to the VMM as descriptor
    /// `passedDescriptor` (docs/decisions/0006); an ethernet interface's tap is opened by the VMM by name.
    static func networkOption(
        _ interface: DomainInterface, passedDescriptor: Int32
    ) throws(ManagementError) -> String {
        var option: String
        switch interface.connection {
        case .ethernet:
            guard let tap = interface.targetDevice, !tap.isEmpty else {
                throw .unsupportedConfiguration(
                    "interface \(interface.macAddress) of type 'ethernet' needs <target dev='TAPNAME'/>: "
                        + "SwiftVirt opens (or creates) that tap device")
            }
            option = "tap=" + (try value(tap, what: "tap name"))
        case .network, .bridge:
            option = "fd=\(passedDescriptor)"
        }
        option += ",mac=" + interface.macAddress.description
        if let mtu = interface.mtu {
            guard (Self.minimumMTU...Self.maximumMTU).contains(mtu) else {
                throw .unsupportedConfiguration(
                    "interface \(interface.macAddress): MTU \(mtu) is outside \(Self.minimumMTU)...\(Self.maximumMTU), "
                        + "the range SwiftVirt's virtio-net takes")
            }
            option += ",mtu=\(mtu)"
        }
        return option
    }

    /// ETH_MIN_MTU and the largest MTU a tap (and the VMM's virtio-net) takes.
    static let minimumMTU: UInt32 = 68
    static let maximumMTU: UInt32 = 65535

    /// A value inside the VMM's `key=value,key=value` options, which have no escaping.
    private static func value(_ text: String, what: String) throws(ManagementError) -> String {
        guard !text.contains(","), !text.contains("\0") else {
            throw .unsupportedConfiguration("the \(what) '\(text)' contains a comma, which the VMM cannot take")
        }
        return text
    }
}

extension DomainInterface.Connection {
    /// Whether the daemon creates the tap and passes it to the VMM (bridge and network interfaces).
    var usesPassedTap: Bool {
        switch self {
        case .bridge, .network: return true
        case .ethernet: return false
        }
    }
}
