import GuestMemory
import KVM

/// A flat 64-bit environment for code that is not a Linux kernel (tiny test guests, firmware-less
/// payloads): the boot GDT and identity-mapped page tables of `BootLayout`, CPL 0, interrupts off.
public enum FlatLongMode {
    /// Writes the GDT and page tables and returns the vCPU state that starts at `entry` with `stack`.
    public static func prepare(
        entry: UInt64, stack: UInt64, memory: GuestMemory, from current: SpecialRegisters
    ) throws -> (Registers, SpecialRegisters) {
        try memory.write(GDT.bytes, at: BootLayout.gdt)
        try memory.write(PageTables.bytes, at: BootLayout.pml4)
        var (registers, special) = BootCPUState.linux64(entry: entry, bootParams: GuestAddress(0), from: current)
        registers.rsi = 0
        registers.rsp = stack
        registers.rbp = stack
        return (registers, special)
    }
}
