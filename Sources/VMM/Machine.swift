import Devices
import DiskImage
import GuestMemory
import KVM
import Logging
import Virtio
import X86Boot
import X86Emulation

#if canImport(Glibc)
    import Glibc
#endif

/// A virtual machine built from a `MachineConfig`: guest memory, the KVM VM and its vCPUs, the device
/// buses, and the loaded guest. Built paused; `start()` launches one thread per vCPU.
public final class Machine: @unchecked Sendable {
    public let config: MachineConfig
    public let host: HostProfile
    public let memory: GuestMemory
    public let vm: VirtualMachine
    public let vcpus: [VCPU]
    public let serial: Serial16550
    /// The kernel command line actually given to the guest (the user's plus the host's additions).
    public let commandLine: String?
    public var statistics: MachineStatistics { core.statistics }

    let core: MachineCore
    private var threads: [HostThread] = []
    /// The vCPU threads started (the raw boot of tiny guests may start only the first).
    private var vcpuThreadCount: Int { vcpus.count }
    private var consoleInput: ConsoleInput?
    /// Runs virtio queue work the guest kicks through ioeventfds.
    private let ioLoop: IOEventLoop
    /// Kept to stop their threads at teardown (outside any transport lock).
    private let virtioDevices: [any VirtioDevice]
    /// Flushed (and qcow2 images closed) when the machine ends, whatever the guest did before.
    private let diskBackends: [any BlockBackend]
    /// QEMU's image locks on the raw disks (qcow2 images hold their own), released with the machine.
    private let diskLeases: [ImageLease]
    private let consoleSocket: ConsoleSocket?
    /// The PM1 registers, for the power button.
    private let acpiPower: ACPIPowerDevice
    /// The serial console's socket when `config.console` is `.socket`.
    private let serialSocket: ConsoleSocket?

    /// Bytes of the RNG seed a bzImage guest gets at boot (32 bytes: the 256 bits Linux needs to call
    /// its random pool initialized).
    static let guestRandomSeedLength = 32
    /// Legacy ISA interrupt of the first serial port.
    static let serialIRQ: UInt32 = 4
    static let serialPort: UInt64 = 0x3F8
    /// Where KVM may put its VMX TSS and identity-map page: just below the BIOS area at 4 GiB.
    static let tssAddress: UInt64 = 0xFFFB_D000
    static let identityMapAddress: UInt64 = 0xFFFB_C000

    /// Builds the machine in the boot sequence's order; a failure tears down what was built (every
    /// resource is owned by an object released on the way out).
    public init(config: MachineConfig, logger: Logger = Logger(label: "swiftvirt")) throws {
        try config.validate()
        self.config = config
        let host = config.host ?? HostProfile.detect()
        self.host = host

        let bootImage = try Self.readBootFiles(config.boot)
        let virtioBackends = try Self.openVirtioBackends(config)
        let memory = try step("allocating guest memory") { try GuestMemory(size: config.memorySize) }
        let hypervisor = try step("opening /dev/kvm") { try Hypervisor() }
        let vm = try step("creating the VM") { try hypervisor.createVirtualMachine() }
        let exceptionPayload = try step("setting up the VM") {
            try Self.configureVM(vm, memory: memory, config: config, host: host)
        }

        let serialLine = InterruptLine(vm: vm, irq: Self.serialIRQ, enabled: config.inKernelIrqchip)
        let serialSocket = try Self.serialSocket(config.console)
        let serialOutput: @Sendable (UInt8) -> Void
        if let serialSocket {
            serialOutput = { byte in serialSocket.send([byte]) }
        } else {
            serialOutput = Self.consoleOutput(config.console)
        }
        let serial = Serial16550(interruptLine: { level in serialLine.set(level) }, output: serialOutput)
        let virtioDevices = try step("creating virtio devices") {
            try Self.makeVirtioDevices(config, backends: virtioBackends, memory: memory)
        }
        let lifecycle = MachineLifecycle()
        let ioLoop = try step("starting the I/O thread") { try IOEventLoop() }
        let sciLine = InterruptLine(
            vm: vm, irq: UInt32(ACPIPorts.systemControlInterrupt), enabled: config.inKernelIrqchip)
        let acpiPower = ACPIPowerDevice(
            onPowerOff: { lifecycle.finish(.poweredOff) },
            onReset: { lifecycle.finish(.reset) },
            systemControlInterrupt: { level in sciLine.set(level) })
        let (pioBus, mmioBus) = try step("wiring devices") {
            try Self.buildBuses(
                config: config, serial: serial, acpiPower: acpiPower, virtioDevices: virtioDevices, ioLoop: ioLoop,
                vm: vm, memory: memory, lifecycle: lifecycle)
        }
        let (vcpus, xsaveLayout) = try step("creating vCPUs") {
            try Self.createVCPUs(vm: vm, hypervisor: hypervisor, config: config, host: host)
        }
        commandLine = try step("loading the guest") {
            try Self.loadGuest(bootImage, config: config, host: host, memory: memory, vcpus: vcpus)
        }
        self.memory = memory
        self.vm = vm
        self.serial = serial
        self.acpiPower = acpiPower
        self.vcpus = vcpus
        self.ioLoop = ioLoop
        self.virtioDevices = virtioDevices
        diskBackends = virtioBackends.disks
        diskLeases = virtioBackends.diskLeases
        consoleSocket = virtioBackends.console
        self.serialSocket = serialSocket
        core = MachineCore(
            vm: vm, memory: memory, pioBus: pioBus, mmioBus: mmioBus, host: host,
            syscallConverter: host.convertsSyscalls ? SyscallConverter() : nil, xsaveLayout: xsaveLayout,
            exceptionPayload: exceptionPayload, lifecycle: lifecycle, logger: logger)
    }

    deinit {
        consoleInput?.stop()
        ioLoop.stop()
        stopDeviceThreads()
    }

    /// Makes every disk write durable before the process exits (the CLI exits without deinitializers).
    private func closeDisks() {
        for disk in diskBackends {
            if let image = disk as? DiskImageBlockBackend {
                try? image.close()
            } else {
                try? disk.flush()
            }
        }
    }

    /// Joins the threads virtio devices and the console socket run (idempotent).
    private func stopDeviceThreads() {
        consoleSocket?.stop()
        serialSocket?.stop()
        for device in virtioDevices {
            switch device {
            case let console as VirtioConsole: console.stop()
            case let vsock as VirtioVsock: vsock.stop()
            default: break
            }
        }
    }

    // MARK: Build steps

    /// Kernel and initrd, opened (not read) before anything is allocated so a bad path fails fast.
    enum BootImage {
        case linux(kernel: BootFile, initrd: BootFile?, commandLine: String)
        case raw(code: [UInt8], loadAddress: UInt64, mode: MachineConfig.RawMode)
    }

    /// Host resources behind the virtio devices, opened before guest memory exists so that a bad path
    /// or tap fails fast.
    struct VirtioBackends {
        var disks: [any BlockBackend] = []
        var diskLeases: [ImageLease] = []
        var networks: [any NetworkBackend] = []
        var console: ConsoleSocket?
    }

    static func openVirtioBackends(_ config: MachineConfig) throws -> VirtioBackends {
        var backends = VirtioBackends()
        for disk in config.disks {
            let (backend, lease) = try openDisk(disk)
            backends.disks.append(backend)
            if let lease { backends.diskLeases.append(lease) }
        }
        backends.networks = try config.networks.map { network in
            do {
                switch network.tap {
                case .named(let name): return try TapBackend(name: name)
                case .fileDescriptor(let fd): return try TapBackend(fileDescriptor: fd)
                }
            } catch {
                throw VMMError.invalidConfiguration("--net: \(error)")
            }
        }
        backends.console = try config.virtioConsole.map {
            try ConsoleSocket(path: $0.socketPath, what: "--virtio-console")
        }
        return backends
    }

    /// A raw image through `RawFileBackend` (which does O_DIRECT), a qcow2 image and its backing chain
    /// through the DiskImage library. Both are locked as QEMU locks a guest's disks, so QEMU, qemu-img
    /// and swiftvirt-img refuse to write an image the guest uses (and this refuses one they write);
    /// for raw, the returned lease holds the locks.
    static func openDisk(_ disk: MachineConfig.Disk) throws -> (any BlockBackend, ImageLease?) {
        func raw() throws -> (any BlockBackend, ImageLease?) {
            let lease = try ImageLease(path: disk.path, format: .raw, readOnly: disk.readOnly, sharing: .device)
            return (try RawFileBackend(path: disk.path, readOnly: disk.readOnly, direct: disk.direct), lease)
        }
        do {
            switch disk.format {
            case nil:
                if try DiskImages.probeFormat(path: disk.path) == .qcow2 {
                    throw VMMError.invalidConfiguration(
                        "--disk \(disk.path) starts like a qcow2 image: add format=qcow2 (or format=raw to serve"
                            + " the file as it is)")
                }
                return try raw()
            case "raw":
                return try raw()
            case "qcow2":
                guard !disk.direct else {
                    throw VMMError.invalidConfiguration(
                        "--disk \(disk.path): direct=on is supported for raw images only")
                }
                let image = try DiskImages.open(
                    path: disk.path, format: .qcow2, readOnly: disk.readOnly, sharing: .device)
                return (DiskImageBlockBackend(image: image), nil)
            case let other?:
                throw VMMError.invalidConfiguration("--disk \(disk.path): unknown format '\(other)' (raw, qcow2)")
            }
        } catch let error as VMMError {
            throw error
        } catch {
            throw VMMError.invalidConfiguration("--disk \(disk.path): \(error)")
        }
    }

    /// The virtio devices in slot order: disks, NICs, rng, vsock, console (the kernel command line
    /// announces them in this order, so the guest's vda, eth0, ... follow the configuration).
    static func makeVirtioDevices(_ config: MachineConfig, backends: VirtioBackends, memory: GuestMemory) throws
        -> [any VirtioDevice]
    {
        var devices: [any VirtioDevice] = []
        for (disk, backend) in zip(config.disks, backends.disks) {
            devices.append(VirtioBlock(backend: backend, serial: disk.serial))
        }
        for (index, (network, backend)) in zip(config.networks, backends.networks).enumerated() {
            let octets = network.mac ?? [0x52, 0x54, 0x00, 0x12, 0x34, UInt8(truncatingIfNeeded: 0x56 + index)]
            guard let mac = MACAddress(octets: octets) else {
                throw VMMError.invalidConfiguration("--net: a MAC address has six octets")
            }
            devices.append(try VirtioNet(macAddress: mac, mtu: Int(network.mtu), backend: backend, memory: memory))
        }
        if config.entropyDevice {
            devices.append(VirtioRNG())
        }
        if let vsock = config.vsock {
            do {
                devices.append(try VirtioVsock(guestCID: vsock.guestCID, socketPath: vsock.socketPath, memory: memory))
            } catch {
                throw VMMError.invalidConfiguration("--vsock: \(error)")
            }
        }
        if let socket = backends.console {
            devices.append(try VirtioConsole(memory: memory, input: socket.deviceInput, output: socket.send))
        }
        return devices
    }

    static let maximumKernelSize = 256 << 20
    static let maximumInitrdSize = 2 << 30

    static func readBootFiles(_ boot: MachineConfig.Boot) throws -> BootImage {
        switch boot {
        case .linux(let kernelPath, let initrdPath, let commandLine):
            let kernel = try HostFile.open(kernelPath, limit: maximumKernelSize, what: "kernel")
            let initrd = try initrdPath.map { try HostFile.open($0, limit: maximumInitrdSize, what: "initrd") }
            return .linux(kernel: kernel, initrd: initrd, commandLine: commandLine)
        case .raw(let code, let loadAddress, let mode):
            return .raw(code: code, loadAddress: loadAddress, mode: mode)
        }
    }

    /// Returns whether KVM_CAP_EXCEPTION_PAYLOAD is on (page faults the VMM injects carry their CR2).
    static func configureVM(_ vm: VirtualMachine, memory: GuestMemory, config: MachineConfig, host: HostProfile)
        throws -> Bool
    {
        try vm.setTSSAddress(tssAddress)
        try? vm.setIdentityMapAddress(identityMapAddress)  // VMX only; other hosts may refuse harmlessly
        if config.inKernelIrqchip {
            try vm.createIrqchip()
            try vm.createPIT2()
        }
        for (slot, region) in memory.regions.enumerated() {
            try vm.setUserMemoryRegion(
                slot: UInt32(slot), guestAddress: region.start.rawValue, size: region.size,
                hostAddress: region.hostAddress)
        }
        if host.convertsSyscalls {
            try vm.trapMSRWrites([X86.MSR.lstar])
        }
        // Completed instructions can fault on guest memory; the #PF the VMM injects then needs its CR2.
        var exceptionPayload = false
        if host.completesInstructions && vm.check(.exceptionPayload) > 0 {
            try vm.enableCapability(.exceptionPayload, arguments: [1])
            exceptionPayload = true
        }
        // POST-code port 0x80: Linux writes it as an I/O delay. Nobody reads it, so keep it in the kernel.
        if vm.check(.coalescedPIO) > 0 {
            try? vm.registerCoalescedPIO(port: 0x80, size: 1)
        }
        return exceptionPayload
    }

    static func serialSocket(_ console: MachineConfig.Console) throws -> ConsoleSocket? {
        guard case .socket(let path) = console else { return nil }
        return try ConsoleSocket(path: path, what: "--serial")
    }

    static func consoleOutput(_ console: MachineConfig.Console) -> @Sendable (UInt8) -> Void {
        switch console {
        case .stdio:
            return { byte in
                var byte = byte
                _ = write(STDOUT_FILENO, &byte, 1)
            }
        case .capture(let sink):
            return { byte in sink([byte]) }
        case .none, .socket:
            return { _ in }
        }
    }

    /// The port and MMIO buses, sealed: nothing is added once vCPUs run, so lookups take no lock.
    static func buildBuses(
        config: MachineConfig, serial: Serial16550, acpiPower: ACPIPowerDevice, virtioDevices: [any VirtioDevice],
        ioLoop: IOEventLoop,
        vm: VirtualMachine, memory: GuestMemory, lifecycle: MachineLifecycle
    ) throws -> (Bus, Bus) {
        let pio = Bus()
        let mmio = Bus()
        switch config.virtioTransport {
        case .mmio:
            for (slot, device) in virtioDevices.enumerated() {
                let irq = VirtioMMIOLayout.interrupts[slot]
                let line = InterruptLine.pulsed(vm: vm, irq: irq, enabled: config.inKernelIrqchip)
                let transport = VirtioMMIOTransport(
                    device: device, memory: memory, interruptLine: { level in line.set(level) })
                let base = VirtioMMIOLayout.address(slot: slot)
                try mmio.insert(transport, base: base, length: VirtioMMIOTransport.rangeLength)
                if config.queueNotifyThread {
                    try attachQueueNotifiers(
                        queues: device.queueCount, vm: vm, ioLoop: ioLoop,
                        address: { _ in base + VirtioMMIOTransport.queueNotifyOffset }, length: 4,
                        notify: transport.notifyQueue)
                }
            }
        case .pci:
            try attachPCIFunctions(
                virtioDevices, config: config, pio: pio, mmio: mmio, vm: vm, memory: memory, ioLoop: ioLoop)
        }
        try pio.insert(serial, base: serialPort, length: Serial16550.rangeLength)
        try pio.insert(acpiPower, base: UInt64(ACPIPorts.pm1aEvent), length: ACPIPowerDevice.rangeLength)
        // 0x60 data and 0x64 command/status; 0x61 in between belongs to the in-kernel PIT.
        try pio.insert(
            I8042Controller(onReset: { lifecycle.finish(.reset) }), base: 0x60, length: I8042Controller.rangeLength)
        for extra in config.extraDevices {
            switch extra.bus {
            case .pio: try pio.insert(extra.device, base: extra.base, length: extra.length)
            case .mmio: try mmio.insert(extra.device, base: extra.base, length: extra.length)
            }
        }
        pio.seal()
        mmio.seal()
        return (pio, mmio)
    }

    /// One ioeventfd per queue on its notify address, matching the queue index the driver writes there:
    /// the vCPU's write completes inside KVM and the queue is processed on the I/O thread.
    static func attachQueueNotifiers(
        queues: Int, vm: VirtualMachine, ioLoop: IOEventLoop, address: (Int) -> UInt64, length: UInt32,
        notify: @escaping @Sendable (Int) -> Void
    ) throws {
        for queue in 0..<queues {
            let notifier = try EventNotifier()
            try vm.attachIOEvent(notifier, address: address(queue), length: length, datamatch: UInt64(queue))
            try ioLoop.add(notifier) { notify(queue) }
        }
    }

    /// The PCI side: the host bridge in slot 0, each device a virtio-pci function in the next slot with
    /// its BAR 0 in the root bridge's window, configuration mechanism #1 on ports 0xCF8–0xCFF, and
    /// MSI-X messages injected with KVM_SIGNAL_MSI.
    static func attachPCIFunctions(
        _ devices: [any VirtioDevice], config: MachineConfig, pio: Bus, mmio: Bus, vm: VirtualMachine,
        memory: GuestMemory, ioLoop: IOEventLoop
    ) throws {
        var functions: [Int: PCIFunction] = [0: PCIHostBridge()]
        let irqchip = config.inKernelIrqchip
        for (index, device) in devices.enumerated() {
            let barAddress = VirtioPCIPlacement.barAddress(ofDevice: index, barLength: VirtioPCIFunction.barLength)
            let function = VirtioPCIFunction(
                device: device, memory: memory, barAddress: barAddress,
                signalMSI: { address, data in
                    if irqchip { _ = try? vm.signalMSI(address: address, data: data) }
                })
            try mmio.insert(function.barRegion, base: barAddress, length: VirtioPCIFunction.barLength)
            functions[VirtioPCIPlacement.slot(ofDevice: index)] = function
            if config.queueNotifyThread {
                try attachQueueNotifiers(
                    queues: device.queueCount, vm: vm, ioLoop: ioLoop,
                    address: { queue in barAddress + function.notifyOffset(queue: queue) }, length: 2,
                    notify: function.notifyQueue)
            }
        }
        try pio.insert(PCIConfigMechanism(functions: functions), base: 0xCF8, length: PCIConfigMechanism.rangeLength)
    }

    /// The vCPUs, and the XSAVE layout their CPUID describes (for completing xsave/xrstor).
    static func createVCPUs(vm: VirtualMachine, hypervisor: Hypervisor, config: MachineConfig, host: HostProfile)
        throws -> ([VCPU], XSaveLayout)
    {
        let supported = try hypervisor.supportedCPUID()
        let cpuid = try CPUIDBuilder(
            supported: supported, vcpuCount: config.vcpuCount,
            tscDeadlineTimer: config.inKernelIrqchip && vm.check(.tscDeadlineTimer) > 0)
        let vcpus = try (0..<config.vcpuCount).map { index in
            let vcpu = try vm.createVCPU(id: UInt32(index))
            try vcpu.setCPUID(cpuid.entries(forVCPU: index))
            try BootMSRs.apply(to: vcpu)
            if config.inKernelIrqchip {
                try LocalAPICSetup.configureLINTs(vcpu)
            }
            var fpu = FPUState()
            fpu.fcw = 0x37F
            fpu.mxcsr = 0x1F80
            try vcpu.setFPU(fpu)
            return vcpu
        }
        return (vcpus, XSaveLayout(cpuid: supported))
    }

    /// Writes the guest into memory and sets the boot vCPU's registers. Returns the final command line.
    static func loadGuest(
        _ image: BootImage, config: MachineConfig, host: HostProfile, memory: GuestMemory, vcpus: [VCPU]
    ) throws -> String? {
        switch image {
        case .linux(let kernel, let initrd, let userCommandLine):
            let pci = config.virtioTransport == .pci
            let rsdp = try ACPITables.write(
                vcpuCount: vcpus.count, pciMemoryWindow: pci ? VirtioPCIPlacement.window : nil, into: memory)
            let devices =
                pci ? [] : (0..<config.virtioDeviceCount).map(VirtioMMIOLayout.commandLineArgument(slot:))
            let commandLine = GuestCommandLine.compose(user: userCommandLine, host: host, devices: devices)
            let loaded = try LinuxLoader.load(
                kernel: kernel, initrd: initrd, commandLine: commandLine, rsdpAddress: rsdp,
                randomSeed: HostEntropy.bytes(count: Self.guestRandomSeedLength), into: memory)
            let (registers, special) = loaded.bootState(from: try vcpus[0].specialRegisters())
            try vcpus[0].setSpecialRegisters(special)
            try vcpus[0].setRegisters(registers)
            return commandLine
        case .raw(let code, let loadAddress, let mode):
            try memory.write(code, at: GuestAddress(loadAddress))
            let starting = config.startAllVCPUs ? vcpus : [vcpus[0]]
            for vcpu in starting {
                let (registers, special) = try RawBoot.state(
                    mode: mode, entry: loadAddress, from: try vcpu.specialRegisters(), memory: memory)
                try vcpu.setSpecialRegisters(special)
                try vcpu.setRegisters(registers)
                if config.inKernelIrqchip && vcpu.id != 0 { try vcpu.setMPState(.runnable) }
            }
            return nil
        }
    }

    // MARK: Running

    /// Starts the console and one thread per vCPU.
    public func start() throws {
        if case .stdio = config.console {
            let serial = self.serial
            let core = self.core
            let input = ConsoleInput(
                fd: STDIN_FILENO,
                deliver: { bytes in serial.enqueueInput(bytes.prefix(serial.inputSpace)) },
                echo: { bytes in _ = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) } },
                onQuit: { core.finish(.stopped) })
            try input.start()
            consoleInput = input
        }
        if let serialSocket {
            let serial = self.serial
            let input = ConsoleInput(
                fd: serialSocket.deviceInput,
                deliver: { bytes in serial.enqueueInput(bytes.prefix(serial.inputSpace)) },
                echo: { _ in }, onQuit: {}, escapes: false)
            try input.start()
            consoleInput = input
            try serialSocket.start()
        }
        if !ioLoop.isEmpty { try ioLoop.start() }
        try consoleSocket?.start()
        for vcpu in vcpus {
            let runner = VCPURunner(vcpu: vcpu, machine: core)
            let thread = try HostThread(name: "vcpu\(vcpu.id)") { runner.run() }
            core.lifecycle.addKicker {
                vcpu.requestImmediateExit(true)
                thread.kick()
            }
            threads.append(thread)
        }
    }

    /// Blocks until every vCPU thread has stopped; returns how the machine ended.
    public func waitForExit() -> MachineExit {
        for thread in threads { thread.join() }
        threads.removeAll()
        ioLoop.stop()
        stopDeviceThreads()
        closeDisks()
        consoleInput?.stop()
        consoleInput = nil
        return core.lifecycle.result ?? .stopped
    }

    /// Stops every vCPU outside the guest until `resume()`; devices keep their state. Returns once no
    /// vCPU runs guest code.
    public func pause() {
        core.lifecycle.pause(vcpuCount: threads.isEmpty ? 0 : vcpuThreadCount)
    }

    public func resume() {
        core.lifecycle.resume()
    }

    public var isPaused: Bool { core.lifecycle.isPaused }

    /// Presses the ACPI power button: a guest with an ACPI button driver and something listening for
    /// it (acpid, systemd-logind) shuts down; one without ignores it, as on real hardware.
    public func pressPowerButton() {
        acpiPower.pressPowerButton()
    }

    /// Whether the guest has enabled the power button event (its ACPI button driver is bound).
    public var powerButtonEnabled: Bool { acpiPower.powerButtonEnabled }

    /// Asks the machine to stop (from any thread).
    public func stop(_ reason: MachineExit = .stopped) {
        core.finish(reason)
    }

    /// Offers console input to the guest's serial port (tests, the daemon's console stream); returns how
    /// many bytes fit in its receive FIFO. Offer the rest again later.
    @discardableResult
    public func sendConsoleInput(_ bytes: [UInt8]) -> Int {
        serial.enqueueInput(bytes.prefix(serial.inputSpace))
    }
}

/// Runs one build step, naming it in any error it throws.
@inline(__always)
func step<T>(_ name: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as VMMError {
        throw error
    } catch {
        throw VMMError.setup(step: name, underlying: error)
    }
}
