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
        case none
    }

    /// A virtio-blk disk backed by a raw image file.
    public struct Disk: Sendable, Equatable {
        public var path: String
        public var readOnly: Bool
        /// O_DIRECT: bypass the host page cache.
        public var direct: Bool
        /// What the guest reads with VIRTIO_BLK_T_GET_ID (at most 20 bytes).
        public var serial: String

        public init(path: String, readOnly: Bool = false, direct: Bool = false, serial: String = "") {
            self.path = path
            self.readOnly = readOnly
            self.direct = direct
            self.serial = serial
        }
    }

    public var boot: Boot
    /// virtio-blk disks, in the order the guest names them (vda, vdb, …).
    public var disks: [Disk] = []
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
    /// How many virtio-mmio slots the configuration fills.
    public var virtioDeviceCount: Int { disks.count }

    public static let minimumLinuxMemory: UInt64 = 32 << 20
    /// KVM's recommended vCPU limit is host-specific; this is our own ceiling (APIC ids fit in 8 bits).
    public static let maximumVCPUs = 254

    public func validate() throws {
        guard (1...Self.maximumVCPUs).contains(vcpuCount) else {
            throw VMMError.invalidConfiguration("--cpus must be between 1 and \(Self.maximumVCPUs), got \(vcpuCount)")
        }
        guard virtioDeviceCount <= VirtioMMIOLayout.slotCount else {
            throw VMMError.invalidConfiguration("at most \(VirtioMMIOLayout.slotCount) virtio devices are supported")
        }
        for disk in disks where disk.serial.utf8.count > 20 {
            throw VMMError.invalidConfiguration("disk serial \"\(disk.serial)\" is longer than 20 bytes")
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
