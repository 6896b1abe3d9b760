/// `<devices>`: the devices SwiftVirt models; everything else under `<devices>` (graphics, input,
/// controllers...) is kept in `unmodeled`.
public struct DomainDevices: Hashable, Sendable {
    /// `<emulator>`: kept as given; SwiftVirt runs its own VMM whatever it says.
    public var emulator: String?
    public var disks: [DomainDisk]
    public var interfaces: [DomainInterface]
    public var serials: [DomainCharacterDevice]
    public var consoles: [DomainCharacterDevice]
    /// `<rng>`: at most one (the VMM has one virtio-rng device).
    public var randomNumberGenerators: [DomainRNG]
    public internal(set) var unmodeled: UnmodeledXML

    public init(
        emulator: String? = nil, disks: [DomainDisk] = [], interfaces: [DomainInterface] = [],
        serials: [DomainCharacterDevice] = [], consoles: [DomainCharacterDevice] = [],
        randomNumberGenerators: [DomainRNG] = []
    ) {
        self.emulator = emulator
        self.disks = disks
        self.interfaces = interfaces
        self.serials = serials
        self.consoles = consoles
        self.randomNumberGenerators = randomNumberGenerators
        self.unmodeled = UnmodeledXML()
    }

    func validate() throws(DomainXMLError) {
        var targets: [String: String] = [:]
        for disk in disks {
            try disk.validate()
            if let other = targets[disk.targetDevice] {
                throw .invalid(
                    "target '\(disk.targetDevice)' duplicated for disk sources '\(other)' and '\(disk.sourceFile)'")
            }
            targets[disk.targetDevice] = disk.sourceFile
        }
        var macs: Set<MACAddress> = []
        for interface in interfaces {
            guard macs.insert(interface.macAddress).inserted else {
                throw .invalid("MAC address '\(interface.macAddress)' is used by more than one interface")
            }
        }
        var ports: Set<UInt32> = []
        for serial in serials {
            guard ports.insert(serial.port).inserted else {
                throw .invalid("serial port \(serial.port) is defined more than once")
            }
        }
        guard randomNumberGenerators.count <= 1 else {
            throw .unsupported("only one <rng> device is supported; the VMM has a single virtio-rng device")
        }
    }
}

/// `<disk type='file' device='disk'>`: a virtio-blk disk backed by a raw or qcow2 image file.
public struct DomainDisk: Hashable, Sendable {
    public enum Format: String, Hashable, Sendable, CaseIterable {
        case raw
        case qcow2
    }

    /// `<source file=...>`.
    public var sourceFile: String
    /// `<driver type=...>`.
    public var format: Format
    /// `<driver name=...>`: "qemu" in libvirt's XML for this hypervisor.
    public var driverName: String
    /// `<target dev=...>` ("vda").
    public var targetDevice: String
    /// `<target bus=...>`: only "virtio".
    public var targetBus: String
    /// `<readonly/>`.
    public var readOnly: Bool
    /// `<serial>`: what the guest reads as the disk's ID.
    public var serial: String?
    public internal(set) var unmodeled: UnmodeledXML

    public init(
        sourceFile: String, targetDevice: String, format: Format = .raw, readOnly: Bool = false,
        serial: String? = nil, driverName: String = "qemu", targetBus: String = "virtio"
    ) {
        self.sourceFile = sourceFile
        self.format = format
        self.driverName = driverName
        self.targetDevice = targetDevice
        self.targetBus = targetBus
        self.readOnly = readOnly
        self.serial = serial
        self.unmodeled = UnmodeledXML()
    }

    func validate() throws(DomainXMLError) {
        guard targetBus == "virtio" else {
            throw .unsupported("disk bus '\(targetBus)' is not supported for '\(targetDevice)'; use 'virtio'")
        }
        guard driverName == "qemu" else {
            throw .unsupported("disk driver '\(driverName)' is not supported; use 'qemu'")
        }
        guard !sourceFile.isEmpty else { throw .invalid("disk '\(targetDevice)' has an empty source file") }
        // virtio-blk's VIRTIO_BLK_T_GET_ID returns at most 20 bytes (virtio 1.2 §5.2.6).
        if let serial, serial.utf8.count > 20 {
            throw .unsupported("disk serial '\(serial)' is longer than 20 bytes")
        }
    }
}

/// `<interface>`: a virtio-net NIC on a libvirt network, a host bridge, or a plain tap ("ethernet").
public struct DomainInterface: Hashable, Sendable {
    public enum Connection: Hashable, Sendable {
        /// `type='network'` with `<source network=...>`.
        case network(String)
        /// `type='bridge'` with `<source bridge=...>`.
        case bridge(String)
        /// `type='ethernet'`: a tap device, named by `<target dev>` or by the host.
        case ethernet

        var typeName: String {
            switch self {
            case .network: return "network"
            case .bridge: return "bridge"
            case .ethernet: return "ethernet"
            }
        }
    }

    public var connection: Connection
    /// `<mac address=...>`; generated in 52:54:00:xx:xx:xx when absent, as libvirt does.
    public var macAddress: MACAddress
    /// `<model type=...>`: only "virtio".
    public var model: String
    /// `<target dev=...>`: the host tap's name.
    public var targetDevice: String?
    /// `<mtu size=...>`: the MTU of the host tap and the one the guest is told about.
    public var mtu: UInt32?
    public internal(set) var unmodeled: UnmodeledXML

    public init(
        connection: Connection, macAddress: MACAddress = .random(), model: String = "virtio",
        targetDevice: String? = nil, mtu: UInt32? = nil
    ) {
        self.connection = connection
        self.macAddress = macAddress
        self.model = model
        self.targetDevice = targetDevice
        self.mtu = mtu
        self.unmodeled = UnmodeledXML()
    }
}

/// `<serial>` or `<console>` of type pty: the guest's serial line on a host pseudo-terminal.
public struct DomainCharacterDevice: Hashable, Sendable {
    /// `<console><target type=...>`: which guest device the console is.
    public enum TargetType: String, Hashable, Sendable {
        case serial
    }

    /// `<target port=...>`.
    public var port: UInt32
    /// Set for consoles only.
    public var targetType: TargetType?
    public internal(set) var unmodeled: UnmodeledXML

    public init(port: UInt32 = 0, targetType: TargetType? = nil) {
        self.port = port
        self.targetType = targetType
        self.unmodeled = UnmodeledXML()
    }
}

/// `<rng model='virtio'>` with `<backend model='random'>`: a virtio-rng device. The VMM feeds it from
/// getrandom(2), the kernel's CSPRNG behind both /dev/urandom and /dev/random, so those are the
/// backend sources it honours.
public struct DomainRNG: Hashable, Sendable {
    /// Host files whose bytes getrandom(2) gives too.
    public static let honouredSources: Set<String> = ["/dev/urandom", "/dev/random"]

    /// `<backend model='random'>` text; libvirt's default is /dev/urandom.
    public var backendSource: String
    public internal(set) var unmodeled: UnmodeledXML

    public init(backendSource: String = "/dev/urandom") {
        self.backendSource = backendSource
        self.unmodeled = UnmodeledXML()
    }
}
