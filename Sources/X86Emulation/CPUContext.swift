import KVM

/// The vCPU state the instruction completer and the syscall converter read and write. `GuestCPU` is the
/// real one; tests supply a fake, so every completion can be checked without /dev/kvm.
public protocol CPUContext: AnyObject {
    /// KVM_GET_REGS.
    func registers() throws -> Registers
    /// KVM_SET_REGS.
    func setRegisters(_ registers: Registers) throws
    /// KVM_GET_SREGS.
    func specialRegisters() throws -> SpecialRegisters
    /// KVM_SET_SREGS.
    func setSpecialRegisters(_ registers: SpecialRegisters) throws
    /// KVM_GET_FPU.
    func fpu() throws -> FPUState
    /// KVM_SET_FPU.
    func setFPU(_ state: FPUState) throws
    /// KVM_GET_XSAVE: the standard-format XSAVE area (see `XSaveLayout`).
    func xsaveArea() throws -> [UInt8]
    /// KVM_SET_XSAVE.
    func setXSaveArea(_ bytes: [UInt8]) throws
    /// KVM_GET_XCRS, by index.
    func extendedControlRegisters() throws -> [UInt32: UInt64]
    /// KVM_GET_MSRS; indices KVM does not know are absent from the result.
    func msrs(_ indices: [UInt32]) throws -> [UInt32: UInt64]
    /// KVM_SET_MSRS.
    func setMSRs(_ values: [(index: UInt32, value: UInt64)]) throws
    /// The guest's current page tables applied to one linear address, with exact writable and user bits
    /// (`writeable` already allows what CR0.WP = 0 lets a supervisor write).
    func translate(_ linearAddress: UInt64) throws -> Translation
    /// Queues `vector` for delivery through the guest IDT at the next KVM_RUN.
    func injectException(vector: UInt8, errorCode: UInt32?) throws
    /// Queues a page fault at `linearAddress` (CR2) with `errorCode`.
    func injectPageFault(linearAddress: UInt64, errorCode: UInt32) throws
}
