import GuestMemory
import KVM

/// What the user needs to understand an instruction the VMM could not complete: why, where the vCPU was,
/// its mode and registers, and the bytes it was executing.
public struct FaultReport: Equatable, Sendable, CustomStringConvertible {
    /// The instruction bytes at RIP, or why they could not be read.
    public enum InstructionBytes: Equatable, Sendable {
        case bytes([UInt8])
        case unreadable(String)
    }

    public var reason: String
    public var registers: Registers
    public var specialRegisters: SpecialRegisters
    public var instruction: InstructionBytes

    public init(
        reason: String, registers: Registers, specialRegisters: SpecialRegisters, instruction: InstructionBytes
    ) {
        self.reason = reason
        self.registers = registers
        self.specialRegisters = specialRegisters
        self.instruction = instruction
    }

    /// Reads registers and up to 15 instruction bytes at RIP from `context`; for emulation failures the
    /// completer does not see (other suberrors, exits the VMM does not expect).
    public static func capture(reason: String, context: some CPUContext, memory: GuestMemory) throws -> FaultReport {
        let registers = try context.registers()
        let special = try context.specialRegisters()
        let instruction: InstructionBytes
        do {
            let address = InstructionFetch.address(registers: registers, specialRegisters: special)
            instruction = .bytes(
                try LinearMemory(context: context, memory: memory)
                    .readPrefix(at: address, upTo: X86.maximumInstructionLength))
        } catch {
            instruction = .unreadable("\(error)")
        }
        return FaultReport(reason: reason, registers: registers, specialRegisters: special, instruction: instruction)
    }

    /// Current privilege level: the RPL of CS (SDM Vol. 3A §5.5).
    public var privilegeLevel: Int { Int(specialRegisters.cs.selector & 3) }

    public var description: String {
        let r = registers
        let s = specialRegisters
        let interrupts = r.rflags & X86.Flags.interrupt != 0 ? "IF=1" : "IF=0"
        var lines: [String] = []
        lines.append("instruction not completed: \(reason)")
        lines.append(
            "  RIP \(word(r.rip))  CS \(half(s.cs.selector)) (CPL \(privilegeLevel))"
                + "  RFLAGS \(word(r.rflags)) [\(interrupts)\(flagNames(r.rflags))]")
        lines.append("  CR0 \(word(s.cr0))  CR3 \(word(s.cr3))  CR4 \(word(s.cr4))  EFER \(word(s.efer))")
        let names = [
            "RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
            "R8 ", "R9 ", "R10", "R11", "R12", "R13", "R14", "R15",
        ]
        for row in 0..<4 {
            let cells = (0..<4).map { column in
                let index = row * 4 + column
                return "\(names[index]) \(word(r[encoding: index]))"
            }
            lines.append("  " + cells.joined(separator: "  "))
        }
        switch instruction {
        case .bytes(let bytes):
            let text = bytes.map { byte in
                let digits = String(byte, radix: 16)
                return byte < 0x10 ? "0" + digits : digits
            }
            lines.append("  bytes at RIP: " + (text.isEmpty ? "(none)" : text.joined(separator: " ")))
        case .unreadable(let why):
            lines.append("  bytes at RIP: unreadable: \(why)")
        }
        return lines.joined(separator: "\n")
    }

    /// The other status and control flags that are set, e.g. " DF ZF".
    private func flagNames(_ flags: UInt64) -> String {
        let bits: [(UInt64, String)] = [
            (1 << 0, "CF"), (1 << 2, "PF"), (1 << 4, "AF"), (1 << 6, "ZF"), (1 << 7, "SF"), (1 << 8, "TF"),
            (1 << 10, "DF"), (1 << 11, "OF"), (1 << 14, "NT"), (1 << 16, "RF"), (1 << 17, "VM"), (1 << 18, "AC"),
        ]
        var text = ""
        for (bit, name) in bits where flags & bit != 0 { text += " " + name }
        let iopl = (flags >> 12) & 3
        if iopl != 0 { text += " IOPL=\(iopl)" }
        return text
    }

    private func word(_ value: UInt64) -> String { padded(value, digits: 16) }
    private func half(_ value: UInt16) -> String { padded(UInt64(value), digits: 4) }
    private func padded(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

/// Where the vCPU fetches its next instruction.
enum InstructionFetch {
    /// RIP in 64-bit mode (CS base is ignored there); CS base + EIP, wrapped to 32 bits, otherwise.
    static func address(registers: Registers, specialRegisters: SpecialRegisters) -> UInt64 {
        if mode(specialRegisters) == .long64 { return registers.rip }
        return (specialRegisters.cs.base &+ (registers.rip & 0xFFFF_FFFF)) & 0xFFFF_FFFF
    }

    /// The decoding mode, or nil for real mode and 16-bit protected mode (left to KVM's own emulator).
    static func mode(_ s: SpecialRegisters) -> ExecutionMode? {
        guard s.cr0 & X86.Control.cr0ProtectionEnable != 0 else { return nil }
        if s.efer & X86.Control.eferLongModeActive != 0 && s.cs.l { return .long64 }
        return s.cs.db ? .protected32 : nil
    }
}
