import GuestMemory
import KVM
import X86Boot

/// Initial vCPU state for raw (non-Linux) guests.
enum RawBoot {
    /// Below the page tables and above the boot data structures.
    static let stackTop: UInt64 = 0x8000

    static func state(
        mode: MachineConfig.RawMode, entry: UInt64, from current: SpecialRegisters, memory: GuestMemory
    ) throws -> (Registers, SpecialRegisters) {
        switch mode {
        case .long:
            return try FlatLongMode.prepare(entry: entry, stack: stackTop, memory: memory, from: current)
        case .real:
            // CS:IP = (entry >> 4):(entry & 0xF); data and stack segments share CS's base.
            guard entry < 0x10_0000 else {
                throw VMMError.invalidConfiguration("real-mode code must load below 1 MiB")
            }
            var special = current
            let selector = UInt16(entry >> 4)
            for keyPath in [\SpecialRegisters.cs, \.ds, \.es, \.ss, \.fs, \.gs]
                as [WritableKeyPath<SpecialRegisters, Segment>]
            {
                special[keyPath: keyPath].selector = selector
                special[keyPath: keyPath].base = UInt64(selector) << 4
            }
            var registers = Registers()
            registers.rip = entry & 0xF
            registers.rsp = 0xFFF0
            return (registers, special)
        }
    }
}
