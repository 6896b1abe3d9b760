import ArgumentParser
import Logging
import VMM

#if canImport(Glibc)
    import Glibc
#endif

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Boot a Linux kernel with the serial console on this terminal.",
        discussion: """
            The console is raw: keys go to the guest. Ctrl-A x quits, Ctrl-A h lists the escapes.
            Exit codes: 0 guest powered off (or quit from the console), 3 guest rebooted,
            2 the guest did something the VMM cannot continue from, 1 configuration or host error.
            """)

    @Option(help: "The guest kernel: an ELF vmlinux with a PVH note, or a 64-bit bzImage.")
    var kernel: String

    @Option(help: "An initramfs (cpio, optionally compressed) for the guest.")
    var initrd: String?

    @Option(help: "The kernel command line.")
    var cmdline: String = "console=ttyS0 panic=-1"

    @Option(help: "Guest RAM: a number with K, M, G or T (no suffix: MiB).")
    var memory: MemorySize = MemorySize(bytes: 256 << 20)

    @Option(help: "Number of vCPUs.")
    var cpus: Int = 1

    @Option(
        help: ArgumentHelp(
            "A virtio-blk disk over a raw or qcow2 image (repeatable; the guest sees vda, vdb, …).",
            valueName: "path=IMAGE[,format=raw|qcow2][,readonly=on][,direct=on][,serial=ID]"),
        transform: DiskOption.parse)
    var disk: [MachineConfig.Disk] = []

    @Option(
        help: ArgumentHelp(
            "A virtio-net NIC on a tap device, by name (created if missing) or open fd (repeatable).",
            valueName: "tap=NAME|fd=N[,mac=52:54:00:12:34:56][,mtu=1500]"),
        transform: NetworkOption.parse)
    var net: [MachineConfig.Network] = []

    @Option(
        help: ArgumentHelp(
            "A virtio-vsock device. Guest connections to host port P go to the Unix socket PATH_P; host"
                + " processes connect to PATH and send \"CONNECT <port>\\n\".",
            valueName: "cid=N,uds=PATH"),
        transform: VsockOption.parse)
    var vsock: MachineConfig.Vsock?

    @Option(
        help: ArgumentHelp(
            "How virtio devices reach the guest: mmio (windows announced on the kernel command line) or pci"
                + " (functions behind an ACPI-declared PCI root bridge, with MSI-X).",
            valueName: "mmio|pci"))
    var transport: MachineConfig.VirtioTransport = .mmio

    @Flag(help: "A virtio-rng device fed by the host's getrandom (the guest's /dev/hwrng).")
    var rng = false

    @Option(
        help: ArgumentHelp(
            "A virtio-console port (the guest's hvc0) on a Unix socket this process listens on.",
            valueName: "socket=PATH"),
        transform: VirtioConsoleOption.parse)
    var virtioConsole: MachineConfig.VirtioConsole?

    @Option(
        help: ArgumentHelp(
            "Where the serial console (ttyS0) goes: this terminal (stdio) or a Unix socket this process"
                + " listens on, one client at a time.",
            valueName: "stdio|socket=PATH"))
    var serial: String = "stdio"

    @Option(
        help: ArgumentHelp(
            "A Unix socket taking control commands, one per line: status, pause, resume, quit, reboot,"
                + " powerbutton.",
            valueName: "PATH"))
    var controlSocket: String?

    @Flag(help: "Log VMM diagnostics and exit counters to stderr.")
    var verbose = false

    func validate() throws {
        guard serial == "stdio" || (serial.hasPrefix("socket=") && serial.count > "socket=".count) else {
            throw ValidationError("--serial must be stdio or socket=PATH, got '\(serial)'")
        }
        guard cpus >= 1 && cpus <= MachineConfig.maximumVCPUs else {
            throw ValidationError("--cpus must be between 1 and \(MachineConfig.maximumVCPUs)")
        }
    }

    func run() throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "swiftvirt")
        logger.logLevel = verbose ? .debug : .warning
        if let level = getenv("SWIFTVIRT_LOG").flatMap({ Logger.Level(rawValue: String(cString: $0)) }) {
            logger.logLevel = level
        }

        var config = MachineConfig(boot: .linux(kernelPath: kernel, initrdPath: initrd, commandLine: cmdline))
        config.memorySize = memory.bytes
        config.vcpuCount = cpus
        config.disks = disk
        config.networks = net
        config.vsock = vsock
        config.entropyDevice = rng
        config.virtioTransport = transport
        config.virtioConsole = virtioConsole
        if serial.hasPrefix("socket=") {
            config.console = .socket(path: String(serial.dropFirst("socket=".count)))
        }

        let machine: Machine
        do {
            machine = try Machine(config: config, logger: logger)
        } catch {
            printError("swiftvirt: \(error)")
            throw ExitCode(1)
        }
        logger.debug("host: \(machine.host.isSoftwareKVM ? "kvm_pvm (software)" : "hardware KVM")")
        if let line = machine.commandLine { logger.debug("kernel command line: \(line)") }

        do {
            try TerminationSignals.handle { _ in machine.stop(.stopped) }
        } catch {
            printError("swiftvirt: \(error)")
            throw ExitCode(1)
        }
        let control: ControlSocket?
        do {
            control = try controlSocket.map { try ControlSocket(path: $0, machine: machine) }
            try control?.start()
        } catch {
            printError("swiftvirt: \(error)")
            throw ExitCode(1)
        }
        defer { control?.stop() }
        let terminal = config.console.isTerminal ? TerminalMode() : nil
        let outcome: MachineExit
        do {
            try machine.start()
            outcome = machine.waitForExit()
        } catch {
            terminal?.restore()
            printError("swiftvirt: \(error)")
            throw ExitCode(1)
        }
        terminal?.restore()
        if verbose { printError("swiftvirt: \(machine.statistics.summary)") }
        switch outcome {
        case .poweredOff, .stopped: break
        default: printError("swiftvirt: \(outcome)")
        }
        throw ExitCode(outcome.exitCode)
    }
}

func printError(_ message: String) {
    let line = message + "\n"
    _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
}

extension MachineConfig.VirtioTransport: ExpressibleByArgument {}
