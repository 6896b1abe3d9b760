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
    /// KVM_CAP_EXCEPTION_PAYLOAD is on: page faults the VMM injects carry CR2 (see GuestCPU).
    let exceptionPayload: Bool
    let statistics = MachineStatistics()
    let logger: Logger

    let lifecycle: MachineLifecycle

    init(
        vm: VirtualMachine, memory: GuestMemory, pioBus: Bus, mmioBus: Bus, host: HostProfile,
        syscallConverter: SyscallConverter?, xsaveLayout: XSaveLayout, exceptionPayload: Bool,
        lifecycle: MachineLifecycle, logger: Logger
    ) {
        self.exceptionPayload = exceptionPayload
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
