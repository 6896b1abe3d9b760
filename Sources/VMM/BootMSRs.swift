import KVM

/// Model-specific registers every vCPU starts with, as a BIOS would leave them.
enum BootMSRs {
    static let values: [(index: UInt32, value: UInt64)] = [
        (0x174, 0),  // IA32_SYSENTER_CS
        (0x175, 0),  // IA32_SYSENTER_ESP
        (0x176, 0),  // IA32_SYSENTER_EIP
        (X86.MSR.star, 0),
        (X86.MSR.lstar, 0),
        (0xC000_0083, 0),  // CSTAR
        (X86.MSR.syscallMask, 0),
        (X86.MSR.kernelGSBase, 0),
        (0x10, 0),  // IA32_TSC
        (0x1A0, 1),  // IA32_MISC_ENABLE: fast string operations
        (0x2FF, (1 << 11) | 6),  // IA32_MTRR_DEF_TYPE: MTRRs enabled, default write-back
    ]

    /// Sets each MSR the host's KVM accepts; hosts differ in which they model, and a guest copes with
    /// the architectural reset value of the rest.
    static func apply(to vcpu: VCPU) throws {
        for entry in values {
            try? vcpu.setMSRs([entry])
        }
    }
}
