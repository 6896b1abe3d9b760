import GuestMemory
import KVM

/// The boot vCPU's register state at the kernel entry. Starts from the special registers the VMM read
/// from the vCPU (so fields we do not own, like the APIC base, keep KVM's values) and sets what each
/// boot protocol requires.
enum BootCPUState {
    /// Reserved bit 1 only: interrupts off.
    static let rflags = X86.Flags.reserved1

    /// PVH (Xen PVH ABI, Linux arch/x86/platform/pvh/head.S): 32-bit protected mode, paging off,
    /// CR0 = PE|ET, CR4 = 0, flat 32-bit code and data, TR a 32-bit-compatible TSS at 0 with limit 0x67,
    /// EBX = hvm_start_info, EIP = the PVH entry.
    static func pvh(entry: UInt32, startInfo: GuestAddress, from current: SpecialRegisters)
        -> (Registers, SpecialRegisters)
    {
        var sregs = flatSegments(current, code: GDT.code32Segment)
        sregs.cr0 = X86.Control.cr0ProtectionEnable | X86.Control.cr0ExtensionType
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
        var sregs = flatSegments(current, code: GDT.code64Segment)
        sregs.cr0 =
            X86.Control.cr0ProtectionEnable | X86.Control.cr0MonitorCoprocessor | X86.Control.cr0ExtensionType
            | X86.Control.cr0NumericError | X86.Control.cr0WriteProtect | X86.Control.cr0Paging
        sregs.cr3 = BootLayout.pml4.rawValue
        sregs.cr4 = X86.Control.cr4PhysicalAddressExtension
        sregs.efer = X86.Control.eferLongModeEnable | X86.Control.eferLongModeActive
        var regs = Registers()
        regs.rip = entry
        regs.rsi = bootParams.rawValue
        regs.rsp = BootLayout.bootStack.rawValue
        regs.rbp = BootLayout.bootStack.rawValue
        regs.rflags = rflags
        return (regs, sregs)
    }

    /// The boot GDT's segments: `code` in CS, flat data in DS/ES/FS/GS/SS, its TSS in TR, no IDT yet.
    private static func flatSegments(_ current: SpecialRegisters, code: Segment) -> SpecialRegisters {
        var sregs = current
        sregs.cs = code
        sregs.ds = GDT.dataSegment
        sregs.es = GDT.dataSegment
        sregs.fs = GDT.dataSegment
        sregs.gs = GDT.dataSegment
        sregs.ss = GDT.dataSegment
        sregs.tr = GDT.tssSegment
        sregs.gdt = GDT.register
        sregs.idt = DescriptorTable(base: 0, limit: 0)
        return sregs
    }
}
