import Devices
import GuestMemory
import KVM
import Logging
import X86Emulation

/// What every vCPU thread of one machine shares: memory, buses, host profile, and the stop protocol.
final class MachineCore: Sendable {
    let vm: VirtualMachine
    let memory: GuestMemory
    let pioBus: Bus
    let mmioBus: Bus
    let host: HostProfile
    let syscallConverter: SyscallConverter?
    /// Where the vCPUs' XSAVE state components live (CPUID leaf 0xD), for completing xsave/xrstor.
    let xsaveLayout: XSaveLayout
    let statistics = MachineStatistics()
    let logger: Logger

    let lifecycle: MachineLifecycle

    init(
        vm: VirtualMachine, memory: GuestMemory, pioBus: Bus, mmioBus: Bus, host: HostProfile,
        syscallConverter: SyscallConverter?, xsaveLayout: XSaveLayout, lifecycle: MachineLifecycle, logger: Logger
    ) {
        self.xsaveLayout = xsaveLayout
        self.lifecycle = lifecycle
        self.vm = vm
        self.memory = memory
        self.pioBus = pioBus
        self.mmioBus = mmioBus
        self.host = host
        self.syscallConverter = syscallConverter
        self.logger = logger
    }

    var isStopping: Bool { lifecycle.isStopping }

    func finish(_ exit: MachineExit) { lifecycle.finish(exit) }
}
