import GuestMemory
import KVM

/// The boot vCPU's register state at the kernel entry. Starts from the special registers the VMM read
/// from the vCPU (so fields we do not own, like the APIC base, keep KVM's values) and sets what each
/// boot protocol requires.
enum BootCPUState {
    // CR0, CR4 and EFER bits (Intel SDM Vol. 3 §2.5, §2.2.1).
    static let cr0PE: UInt64 = 1 << 0
    static let cr0MP: UInt64 = 1 << 1
    static let cr0ET: UInt64 = 1 << 4
    static let cr0NE: UInt64 = 1 << 5
    static let cr0WP: UInt64 = 1 << 16
    static let cr0PG: UInt64 = 1 << 31
    static let cr4PAE: UInt64 = 1 << 5
    static let eferLME: UInt64 = 1 << 8
    static let eferLMA: UInt64 = 1 << 10
    /// RFLAGS with only the always-one bit 1: interrupts off, as both protocols require.
    static let rflags: UInt64 = 0x2

    /// PVH (Xen PVH ABI, Linux arch/x86/platform/pvh/head.S): 32-bit protected mode, paging off,
    /// CR0 = PE|ET, CR4 = 0, flat 32-bit code and data, TR a 32-bit-compatible TSS at 0 with limit 0x67,
    /// EBX = hvm_start_info, EIP = the PVH entry.
    static func pvh(entry: UInt32, startInfo: GuestAddress, from current: SpecialRegisters)
        -> (Registers, SpecialRegisters)
    {
        var sregs = current
        sregs.cs = GDT.code32Segment
        setDataSegments(&sregs, GDT.dataSegment)
        sregs.tr = GDT.tssSegment
        sregs.gdt = GDT.register
        sregs.idt = DescriptorTable(base: 0, limit: 0)
        sregs.cr0 = cr0PE | cr0ET
        sregs.cr3 = 0
        sregs.cr4 = 0
        sregs.efer = 0
        var regs = Registers()
        regs.rip = UInt64(entry)
        regs.rbx = startInfo.rawValue
        regs.rsp = BootLayout.bootStack.rawValue
        regs.rflags = rflags
        return (regs, sregs)
    }

    /// Linux 64-bit boot protocol (boot.rst "64-bit BOOT PROTOCOL"): long mode with paging on the
    /// identity map, CS = __BOOT_CS, DS/ES/SS = __BOOT_DS, RSI = boot_params, RIP = load address + 0x200.
    static func linux64(entry: UInt64, bootParams: GuestAddress, from current: SpecialRegisters)
        -> (Registers, SpecialRegisters)
    {
        var sregs = current
        sregs.cs = GDT.code64Segment
        setDataSegments(&sregs, GDT.dataSegment)
        sregs.tr = GDT.tssSegment
        sregs.gdt = GDT.register
        sregs.idt = DescriptorTable(base: 0, limit: 0)
        sregs.cr0 = cr0PE | cr0MP | cr0ET | cr0NE | cr0WP | cr0PG
        sregs.cr3 = BootLayout.pml4.rawValue
        sregs.cr4 = cr4PAE
        sregs.efer = eferLME | eferLMA
        var regs = Registers()
        regs.rip = entry
        regs.rsi = bootParams.rawValue
        regs.rsp = BootLayout.bootStack.rawValue
        regs.rbp = BootLayout.bootStack.rawValue
        regs.rflags = rflags
        return (regs, sregs)
    }

    private static func setDataSegments(_ sregs: inout SpecialRegisters, _ segment: Segment) {
        sregs.ds = segment
        sregs.es = segment
        sregs.fs = segment
        sregs.gs = segment
        sregs.ss = segment
    }
}
