/// Why KVM_RUN returned. Values only: data an exit carries is copied out of kvm_run, and what the
/// guest reads back is written with the VCPU's `complete…` methods before the next run.
public enum VCPUExit: Equatable, Sendable {
    /// `out`/`outs`: `size` bytes per element; `value` is the first element (little-endian).
    case ioOut(port: UInt16, size: Int, count: Int, value: UInt64)
    /// `in`/`ins`: answer with `completeIOIn`.
    case ioIn(port: UInt16, size: Int, count: Int)
    case mmioWrite(address: UInt64, size: Int, value: UInt64)
    /// Answer with `completeMMIORead`.
    case mmioRead(address: UInt64, size: Int)
    /// HLT with no in-kernel irqchip.
    case halt
    /// Triple fault or an equivalent reset condition.
    case shutdown
    /// KVM_EXIT_SYSTEM_EVENT (shutdown/reset/crash requested through KVM).
    case systemEvent(type: UInt32)
    /// KVM_EXIT_INTERNAL_ERROR; suberror 1 is an instruction KVM's emulator could not run.
    case internalError(suberror: UInt32, data: [UInt64])
    /// KVM_EXIT_FAIL_ENTRY: the hardware refused the vCPU state.
    case failEntry(reason: UInt64)
    /// A trapped guest WRMSR (see `VirtualMachine.trapMSRWrites`); answer with `completeMSR`.
    case msrWrite(index: UInt32, value: UInt64)
    /// A trapped guest RDMSR; answer with `completeMSR`.
    case msrRead(index: UInt32)
    /// A signal or `immediate_exit` interrupted the run (EINTR / KVM_EXIT_INTR).
    case interrupted
    case debug
    case unknown(reason: UInt32)

    /// KVM_INTERNAL_ERROR_EMULATION.
    public static let emulationFailure: UInt32 = 1
}
