import KVM

/// The processor mode an instruction is decoded and executed in (SDM Vol. 3A §2.2).
enum ExecutionMode: Equatable, Sendable {
    /// IA-32e 64-bit mode: REX, RIP-relative addressing, 64-bit default address size.
    case long64
    /// 32-bit protected or compatibility mode: no REX, 32-bit default address size.
    case protected32
}

/// A segment named by an override prefix (SDM Vol. 2A §2.1.1, group 2).
enum SegmentRegister: Equatable, Sendable {
    case es, cs, ss, ds, fs, gs
}

/// What the completer has to carry out for a decoded instruction.
enum InstructionKind: Equatable, Sendable {
    case int3
    case fwait
    case fnclex
    case fninit
    case ldmxcsr
    case stmxcsr
    /// 66 0F 6E: xmm ← r/m32 (r/m64 with REX.W), zero-extended to 128 bits.
    case moveToXMM
    /// 66 0F 7E: r/m32 (r/m64 with REX.W) ← the low bits of xmm.
    case moveFromXMM
    /// pxor / xorps / xorpd: xmm ← xmm XOR xmm/m128 (the same bitwise operation for all three).
    case xorXMM
    /// 0F AE /4 and /6 (xsaveopt may save like xsave): the components XCR0 and EDX:EAX select → m.
    case xsave
    /// 0F AE /5: the components XCR0 and EDX:EAX select ← m (standard form).
    case xrstor
}

/// A ModRM memory operand before registers are applied (SDM Vol. 2A §2.1.5, §2.2.1.6).
struct MemoryOperand: Equatable, Sendable {
    /// Base register in encoding order (REX.B applied), or nil for disp32-only / RIP-relative forms.
    var base: Int?
    /// Index register (REX.X applied), or nil when the SIB index is "none".
    var index: Int?
    /// 1, 2, 4 or 8.
    var scale: UInt64 = 1
    /// Sign-extended disp8/disp32.
    var displacement: Int64 = 0
    /// 64-bit mode mod=00 rm=101: relative to the next instruction's RIP.
    var ripRelative = false
    /// A segment override prefix, if any.
    var segment: SegmentRegister?
    /// 0x67 in 64-bit mode: the effective address is truncated to 32 bits.
    var addressSize32 = false

    /// The linear address this operand names. `nextInstruction` is RIP after this instruction (the base of
    /// RIP-relative addressing). In 64-bit mode only FS and GS add a base (SDM Vol. 3A §3.4.4); in 32-bit
    /// mode the default segment is SS for an ESP/EBP base and DS otherwise. Segment limits are not checked:
    /// the guests this serves use flat segments.
    func linearAddress(
        registers: Registers, specialRegisters: SpecialRegisters, mode: ExecutionMode, nextInstruction: UInt64
    ) -> UInt64 {
        var effective = UInt64(bitPattern: displacement)
        if ripRelative { effective = effective &+ nextInstruction }
        if let base { effective = effective &+ registers[encoding: base] }
        if let index { effective = effective &+ registers[encoding: index] &* scale }
        switch mode {
        case .long64:
            if addressSize32 { effective &= 0xFFFF_FFFF }
            switch segment {
            case .fs: return effective &+ specialRegisters.fs.base
            case .gs: return effective &+ specialRegisters.gs.base
            default: return effective
            }
        case .protected32:
            effective &= 0xFFFF_FFFF
            let segmentBase: UInt64
            switch segment ?? ((base == 4 || base == 5) ? .ss : .ds) {
            case .es: segmentBase = specialRegisters.es.base
            case .cs: segmentBase = specialRegisters.cs.base
            case .ss: segmentBase = specialRegisters.ss.base
            case .ds: segmentBase = specialRegisters.ds.base
            case .fs: segmentBase = specialRegisters.fs.base
            case .gs: segmentBase = specialRegisters.gs.base
            }
            return (segmentBase &+ effective) & 0xFFFF_FFFF
        }
    }
}

/// The ModRM r/m operand: a register number (GPR or XMM, by instruction) or memory.
enum Operand: Equatable, Sendable {
    case register(Int)
    case memory(MemoryOperand)
}

/// One decoded instruction: what to do, its operands and its length in bytes.
struct DecodedInstruction: Equatable, Sendable {
    var mnemonic: String
    var kind: InstructionKind
    var length: Int
    /// The 9B-led forms (fclex, finit) wait for pending x87 exceptions first, as FWAIT does.
    var waits = false
    /// REX.W: 64-bit GPR/memory operand (movq rather than movd).
    var wide = false
    /// ModRM.reg with REX.R: the XMM register of the SSE forms.
    var reg = 0
    /// ModRM r/m, for instructions that have one.
    var rm: Operand?
}

/// Why bytes could not be decoded into an instruction this module completes.
enum DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes ended (at an unmapped page) before the instruction did.
    case truncated(available: Int)
    /// Prefixes and opcode run past the 15-byte limit (the CPU raises #GP).
    case tooLong
    /// LOCK is not meaningful on any completed instruction (the CPU raises #UD).
    case lockPrefix
    /// 0x67 in 32-bit mode selects 16-bit addressing, which is not implemented.
    case sixteenBitAddressing
    /// An opcode outside the completion table.
    case unsupported

    var description: String {
        switch self {
        case .truncated(let available):
            return "the instruction continues past the \(available) readable bytes (next page not mapped)"
        case .tooLong: return "the instruction is longer than 15 bytes"
        case .lockPrefix: return "LOCK prefix on an instruction the VMM completes"
        case .sixteenBitAddressing: return "16-bit addressing (0x67 in 32-bit mode) is not supported"
        case .unsupported: return "the VMM does not complete this instruction"
        }
    }
}
