import Devices

/// Everything needed to build a machine: a plain value, validated before anything is allocated.
public struct MachineConfig: Sendable {
    /// What the boot vCPU runs first.
    public enum Boot: Sendable {
        /// A Linux kernel: ELF vmlinux with a PVH note, or a 64-bit bzImage.
        case linux(kernelPath: String, initrdPath: String?, commandLine: String)
        /// Raw code copied to `loadAddress` (tiny test guests). `.long` gets identity-mapped page tables
        /// and a flat GDT; `.real` starts in real mode at 0:loadAddress.
        case raw(code: [UInt8], loadAddress: UInt64, mode: RawMode)
    }

    public enum RawMode: Sendable { case real, long }

    /// A device added by the embedder (tests) on the port or MMIO bus.
    public struct ExtraDevice: Sendable {
        public enum BusKind: Sendable { case pio, mmio }
        public var bus: BusKind
        public var base: UInt64
        public var length: UInt64
        public var device: any BusDevice
        public init(bus: BusKind, base: UInt64, length: UInt64, device: any BusDevice) {
            self.bus = bus
            self.base = base
            self.length = length
            self.device = device
        }
    }

    /// Where the serial console goes.
    public enum Console: Sendable {
        /// stdin/stdout, raw mode when stdin is a terminal.
        case stdio
        /// Output to a closure, no input (tests read the guest's output).
        case capture(@Sendable ([UInt8]) -> Void)
        /// A Unix socket the machine listens on; one client at a time (QEMU's `-serial unix:PATH,server`).
        case socket(path: String)
        case none

        /// The console is this process's terminal.
        public var isTerminal: Bool {
            if case .stdio = self { return true }
            return false
        }
    }

    /// A virtio-blk disk backed by a raw image file.
    public struct Disk: Sendable, Equatable {
        public var path: String
        public var readOnly: Bool
        /// O_DIRECT: bypass the host page cache.
        public var direct: Bool
        /// What the guest reads with VIRTIO_BLK_T_GET_ID (at most 20 bytes).
        public var serial: String
        /// "raw" or "qcow2"; nil is raw, and refuses a file that starts like a qcow2 image (guessing
        /// qcow2 would let a guest that wrote a qcow2 header into its raw disk reach host files through a
        /// backing file name, so qcow2 must be asked for).
        public var format: String?

        public init(
            path: String, readOnly: Bool = false, direct: Bool = false, serial: String = "", format: String? = nil
        ) {
            self.format = format
            self.path = path
            self.readOnly = readOnly
            self.direct = direct
            self.serial = serial
        }
    }

    /// A virtio-net NIC over a tap device.
    public struct Network: Sendable, Equatable {
        public enum Tap: Sendable, Equatable {
            /// Open (or create) the tap with this name; "" lets the kernel pick one.
            case named(String)
            /// A tap the caller opened (libvirt-style fd passing); the device owns it from then on.
            case fileDescriptor(Int32)
        }
        public var tap: Tap
        /// Six octets; nil picks 52:54:00:12:34:(0x56 + index) as QEMU does.
        public var mac: [UInt8]?
        public var mtu: UInt16

        public init(tap: Tap, mac: [UInt8]? = nil, mtu: UInt16 = 1500) {
            self.tap = tap
            self.mac = mac
            self.mtu = mtu
        }
    }

    /// A virtio-vsock device; the host side follows Firecracker's Unix-socket convention.
    public struct Vsock: Sendable, Equatable {
        /// The guest's context ID (3 or more: 0–2 are reserved, §5.10.4).
        public var guestCID: UInt64
        /// Host processes connect here and send "CONNECT <port>\n"; guest connections to host port P
        /// go to "<socketPath>_P".
        public var socketPath: String

        public init(guestCID: UInt64, socketPath: String) {
            self.guestCID = guestCID
            self.socketPath = socketPath
        }
    }

    /// A virtio-console port (the guest's hvc0), reachable on a Unix socket the machine listens on.
    public struct VirtioConsole: Sendable, Equatable {
        public var socketPath: String
        public init(socketPath: String) { self.socketPath = socketPath }
    }

    /// How virtio devices reach the guest: virtio-mmio windows announced on the kernel command line,
    /// or virtio-pci functions behind a PCI root bridge the ACPI tables declare, with MSI-X.
    public enum VirtioTransport: String, Sendable, CaseIterable {
        case mmio, pci
    }

    public var boot: Boot
    public var virtioTransport: VirtioTransport = .mmio
    /// virtio-blk disks, in the order the guest names them (vda, vdb, …).
    public var disks: [Disk] = []
    /// virtio-net NICs (eth0, eth1, …).
    public var networks: [Network] = []
    public var vsock: Vsock?
    /// A virtio-rng device fed by getrandom(2).
    public var entropyDevice = false
    public var virtioConsole: VirtioConsole?
    public var memorySize: UInt64 = 256 << 20
    public var vcpuCount: Int = 1
    public var console: Console = .stdio
    /// In-kernel PIC/IOAPIC/LAPIC and PIT. Tiny guests can turn it off to see HLT as an exit.
    public var inKernelIrqchip = true
    /// Virtio queue notifications complete inside KVM (ioeventfd) and the queues are processed on the
    /// machine's I/O thread; false processes them on the notifying vCPU's thread.
    public var queueNotifyThread = true
    /// Raw boots: start every vCPU at the load address (each runs the same code), not just the BSP.
    public var startAllVCPUs = false
    public var extraDevices: [ExtraDevice] = []
    /// nil: detect. Tests may force a profile.
    public var host: HostProfile?

    public init(boot: Boot) {
        self.boot = boot
    }

    /// The smallest guest a Linux kernel + initrd is worth trying in.
    /// How many virtio devices (mmio windows or PCI slots) the configuration fills.
    public var virtioDeviceCount: Int {
        disks.count + networks.count + (vsock == nil ? 0 : 1) + (entropyDevice ? 1 : 0) + (virtioConsole == nil ? 0 : 1)
    }

    public static let minimumLinuxMemory: UInt64 = 32 << 20
    /// KVM's recommended vCPU limit is host-specific; this is our own ceiling (APIC ids fit in 8 bits).
    public static let maximumVCPUs = 254

    public func validate() throws {
        guard (1...Self.maximumVCPUs).contains(vcpuCount) else {
            throw VMMError.invalidConfiguration("--cpus must be between 1 and \(Self.maximumVCPUs), got \(vcpuCount)")
        }
        let slots = virtioTransport == .mmio ? VirtioMMIOLayout.slotCount : VirtioPCIPlacement.slotCount
        guard virtioDeviceCount <= slots else {
            throw VMMError.invalidConfiguration(
                "at most \(slots) virtio devices are supported over virtio-\(virtioTransport.rawValue)")
        }
        for disk in disks where disk.serial.utf8.count > 20 {
            throw VMMError.invalidConfiguration("disk serial \"\(disk.serial)\" is longer than 20 bytes")
        }
        for (index, network) in networks.enumerated() {
            if let mac = network.mac {
                guard mac.count == 6, mac[0] & 1 == 0 else {
                    throw VMMError.invalidConfiguration("--net #\(index + 1): the MAC must be a unicast address")
                }
            }
            guard (68...65535).contains(network.mtu) else {
                throw VMMError.invalidConfiguration("--net #\(index + 1): mtu must be between 68 and 65535")
            }
        }
        if let vsock {
            guard vsock.guestCID >= 3, vsock.guestCID <= UInt64(UInt32.max - 1) else {
                throw VMMError.invalidConfiguration("--vsock: cid must be between 3 and \(UInt32.max - 1)")
            }
            guard !vsock.socketPath.isEmpty, vsock.socketPath.utf8.count < 100 else {
                throw VMMError.invalidConfiguration("--vsock: uds must be a path shorter than 100 bytes")
            }
        }
        guard memorySize % 4096 == 0 else {
            throw VMMError.invalidConfiguration("--memory must be a multiple of 4 KiB")
        }
        guard memorySize <= 1 << 40 else {
            throw VMMError.invalidConfiguration("--memory above 1 TiB is not supported")
        }
        switch boot {
        case .linux:
            guard memorySize >= Self.minimumLinuxMemory else {
                throw VMMError.invalidConfiguration(
                    "--memory \(memorySize >> 20)M is too little for Linux: give at least \(Self.minimumLinuxMemory >> 20)M"
                )
            }
        case .raw(let code, let loadAddress, _):
            guard memorySize >= 1 << 20 else {
                throw VMMError.invalidConfiguration("raw guests need at least 1 MiB of memory")
            }
            let (end, overflow) = loadAddress.addingReportingOverflow(UInt64(code.count))
            guard !overflow, end <= memorySize else {
                throw VMMError.invalidConfiguration("raw code does not fit in guest memory")
            }
        }
    }
}
