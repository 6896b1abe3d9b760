import GuestMemory
import KVM

/// A vCPU as the instruction completer and the syscall converter see it: KVM's register state, and linear
/// addresses translated through the guest's page tables in guest RAM, so a completed store honours
/// read-only and copy-on-write pages as the CPU would (KVM_TRANSLATE reports every present page as
/// writable). One per vCPU thread; call `beginExit` before each exit it serves.
public final class GuestCPU: CPUContext {
    public let vcpu: VCPU
    public let memory: GuestMemory
    /// KVM_CAP_EXCEPTION_PAYLOAD is on for the VM: an injected #PF carries its CR2.
    public let exceptionPayload: Bool
    /// KVM_GET_SREGS of the current exit (paging translates many addresses per completion).
    private var cachedSpecialRegisters: SpecialRegisters?

    public init(vcpu: VCPU, memory: GuestMemory, exceptionPayload: Bool) {
        self.vcpu = vcpu
        self.memory = memory
        self.exceptionPayload = exceptionPayload
    }

    /// Forgets what the guest may have changed since the last exit.
    public func beginExit() {
        cachedSpecialRegisters = nil
    }

    public func registers() throws -> Registers { try vcpu.registers() }
    public func setRegisters(_ registers: Registers) throws { try vcpu.setRegisters(registers) }

    public func specialRegisters() throws -> SpecialRegisters {
        if let cachedSpecialRegisters { return cachedSpecialRegisters }
        let special = try vcpu.specialRegisters()
        cachedSpecialRegisters = special
        return special
    }

    public func setSpecialRegisters(_ registers: SpecialRegisters) throws {
        cachedSpecialRegisters = nil
        try vcpu.setSpecialRegisters(registers)
    }

    public func fpu() throws -> FPUState { try vcpu.fpu() }
    public func setFPU(_ state: FPUState) throws { try vcpu.setFPU(state) }
    public func xsaveArea() throws -> [UInt8] { try vcpu.xsaveArea() }
    public func setXSaveArea(_ bytes: [UInt8]) throws { try vcpu.setXSaveArea(bytes) }
    public func extendedControlRegisters() throws -> [UInt32: UInt64] { try vcpu.extendedControlRegisters() }
    public func msrs(_ indices: [UInt32]) throws -> [UInt32: UInt64] { try vcpu.msrs(indices) }

    /// The FS and GS base MSRs are segment state: the cached special registers go stale.
    public func setMSRs(_ values: [(index: UInt32, value: UInt64)]) throws {
        cachedSpecialRegisters = nil
        try vcpu.setMSRs(values)
    }

    /// No paging: identity. IA-32e paging: the guest's tables walked in RAM (`PageTableWalk`), with CR0.WP
    /// applied for supervisor writes. Other paging modes: KVM_TRANSLATE.
    public func translate(_ linearAddress: UInt64) throws -> Translation {
        let special = try specialRegisters()
        guard special.cr0 & X86.Control.cr0Paging != 0 else {
            return Translation(physicalAddress: linearAddress, valid: true, writeable: true, usermode: true)
        }
        guard special.efer & X86.Control.eferLongModeActive != 0 else { return try vcpu.translate(linearAddress) }
        var translation = PageTableWalk.translate(
            linearAddress, cr3: special.cr3, fiveLevel: special.cr4 & X86.Control.cr4FiveLevelPaging != 0,
            memory: memory)
        let supervisor = special.cs.selector & 3 != 3
        if translation.valid && supervisor && special.cr0 & X86.Control.cr0WriteProtect == 0 {
            translation.writeable = true
        }
        return translation
    }

    public func injectException(vector: UInt8, errorCode: UInt32?) throws {
        try vcpu.injectException(vector: vector, errorCode: errorCode)
    }

    public func injectPageFault(linearAddress: UInt64, errorCode: UInt32) throws {
        if !exceptionPayload { cachedSpecialRegisters = nil }  // CR2 is written through KVM_SET_SREGS
        try vcpu.injectPageFault(address: linearAddress, errorCode: errorCode, payloadEnabled: exceptionPayload)
    }
}
