import Devices
import Foundation
import Synchronization
import Testing

@testable import VMM

/// KVM tests run unless SWIFTVIRT_SKIP_KVM=1; without /dev/kvm they fail loudly (Hypervisor throws).
let kvmTestsEnabled = ProcessInfo.processInfo.environment["SWIFTVIRT_SKIP_KVM"] != "1"

/// A port the tiny guests write results to: records every byte written; reads return `readValue`.
final class RecordingPort: BusDevice {
    let readValue: UInt64
    private let written = Mutex<[UInt8]>([])
    private let onWrite: @Sendable ([UInt8]) -> Void

    init(readValue: UInt64 = 0, onWrite: @escaping @Sendable ([UInt8]) -> Void = { _ in }) {
        self.readValue = readValue
        self.onWrite = onWrite
    }

    var bytes: [UInt8] { written.withLock { $0 } }

    func read(offset: UInt64, size: Int) -> UInt64 { readValue }

    func write(offset: UInt64, size: Int, value: UInt64) {
        let all = written.withLock { bytes in
            bytes.append(UInt8(truncatingIfNeeded: value))
            return bytes
        }
        onWrite(all)
    }
}

/// A device that records MMIO accesses (address offset, size, value) and answers reads.
final class RecordingMMIO: BusDevice {
    let readValue: UInt64
    private let log = Mutex<[(offset: UInt64, size: Int, value: UInt64)]>([])
    init(readValue: UInt64) { self.readValue = readValue }
    var writes: [(offset: UInt64, size: Int, value: UInt64)] { log.withLock { $0 } }
    func read(offset: UInt64, size: Int) -> UInt64 { readValue }
    func write(offset: UInt64, size: Int, value: UInt64) { log.withLock { $0.append((offset, size, value)) } }
}

/// The port every tiny guest reports on.
let resultPort: UInt64 = 0x510

/// Builds a machine for a tiny guest with a RecordingPort at `resultPort`.
func tinyMachine(
    code: [UInt8], at loadAddress: UInt64 = 0x1_0000, mode: MachineConfig.RawMode, irqchip: Bool = false,
    vcpus: Int = 1, port: RecordingPort = RecordingPort(), extra: [MachineConfig.ExtraDevice] = []
) throws -> Machine {
    var config = MachineConfig(boot: .raw(code: code, loadAddress: loadAddress, mode: mode))
    config.memorySize = 16 << 20
    config.vcpuCount = vcpus
    config.inKernelIrqchip = irqchip
    config.startAllVCPUs = vcpus > 1
    config.console = .none
    config.extraDevices = [.init(bus: .pio, base: resultPort, length: 1, device: port)] + extra
    return try Machine(config: config)
}

/// Runs a started machine to its end, failing the test if it takes longer than `seconds` (a hang).
func runToExit(_ machine: Machine, seconds: Double = 30) throws -> MachineExit {
    try machine.start()
    let done = Atomic<Bool>(false)
    let watchdog = Thread {
        let deadline = Date().addingTimeInterval(seconds)
        while !done.load(ordering: .relaxed) && Date() < deadline { usleep(10_000) }
        if !done.load(ordering: .relaxed) { machine.stop(.vmmFailure("test watchdog: guest hung")) }
    }
    watchdog.start()
    let exit = machine.waitForExit()
    done.store(true, ordering: .relaxed)
    return exit
}
