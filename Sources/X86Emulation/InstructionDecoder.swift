import KVM

/// Decodes the few instructions the VMM completes (see `InstructionCompleter`). Everything else is
/// `DecodeError.unsupported`: the table below is the whole instruction set this module knows.
///
/// Encoding rules follow the Intel SDM Vol. 2A chapter 2: legacy prefixes (§2.1.1), REX (§2.2.1),
/// ModRM/SIB/displacement (§2.1.5, Tables 2-2 and 2-3), RIP-relative addressing (§2.2.1.6) and the 15-byte
/// limit (§2.3.11).
enum InstructionDecoder {
    /// The prefix an SSE opcode requires to mean what the table says (SDM Vol. 2A §2.1.1 "mandatory").
    enum MandatoryPrefix: Equatable {
        case none, operandSize, repeatNotEqual, repeatEqual
    }

    /// What follows the opcode bytes.
    enum Form: Equatable {
        /// No ModRM.
        case fixed
        /// ModRM with reg = `digit` and a memory r/m (mod ≠ 3).
        case memory(digit: Int)
        /// ModRM with a register or memory r/m.
        case registerOrMemory
    }

    struct Entry {
        var mnemonic: String
        /// The mnemonic when REX.W is set, for opcodes whose operand widens to 64 bits.
        var wideMnemonic: String?
        var prefix: MandatoryPrefix
        var opcode: [UInt8]
        var form: Form
        var kind: InstructionKind
        var waits = false
    }

    /// Tried in order; a longer opcode comes before its own prefix (9B DB E2 before 9B).
    static let table: [Entry] = [
        Entry(mnemonic: "int3", prefix: .none, opcode: [0xCC], form: .fixed, kind: .int3),
        Entry(mnemonic: "fclex", prefix: .none, opcode: [0x9B, 0xDB, 0xE2], form: .fixed, kind: .fnclex, waits: true),
        Entry(mnemonic: "finit", prefix: .none, opcode: [0x9B, 0xDB, 0xE3], form: .fixed, kind: .fninit, waits: true),
        Entry(mnemonic: "fwait", prefix: .none, opcode: [0x9B], form: .fixed, kind: .fwait),
        Entry(mnemonic: "fnclex", prefix: .none, opcode: [0xDB, 0xE2], form: .fixed, kind: .fnclex),
        Entry(mnemonic: "fninit", prefix: .none, opcode: [0xDB, 0xE3], form: .fixed, kind: .fninit),
        Entry(mnemonic: "ldmxcsr", prefix: .none, opcode: [0x0F, 0xAE], form: .memory(digit: 2), kind: .ldmxcsr),
        Entry(mnemonic: "stmxcsr", prefix: .none, opcode: [0x0F, 0xAE], form: .memory(digit: 3), kind: .stmxcsr),
        // The register forms of /5 and /6 are lfence and mfence: `.memory` leaves them out.
        Entry(
            mnemonic: "xsave", wideMnemonic: "xsave64", prefix: .none, opcode: [0x0F, 0xAE],
            form: .memory(digit: 4), kind: .xsave),
        Entry(
            mnemonic: "xrstor", wideMnemonic: "xrstor64", prefix: .none, opcode: [0x0F, 0xAE],
            form: .memory(digit: 5), kind: .xrstor),
        Entry(
            mnemonic: "xsaveopt", wideMnemonic: "xsaveopt64", prefix: .none, opcode: [0x0F, 0xAE],
            form: .memory(digit: 6), kind: .xsave),
        Entry(
            mnemonic: "movd", wideMnemonic: "movq", prefix: .operandSize, opcode: [0x0F, 0x6E],
            form: .registerOrMemory, kind: .moveToXMM),
        Entry(
            mnemonic: "movd", wideMnemonic: "movq", prefix: .operandSize, opcode: [0x0F, 0x7E],
            form: .registerOrMemory, kind: .moveFromXMM),
        Entry(mnemonic: "pxor", prefix: .operandSize, opcode: [0x0F, 0xEF], form: .registerOrMemory, kind: .xorXMM),
        Entry(mnemonic: "xorps", prefix: .none, opcode: [0x0F, 0x57], form: .registerOrMemory, kind: .xorXMM),
        Entry(mnemonic: "xorpd", prefix: .operandSize, opcode: [0x0F, 0x57], form: .registerOrMemory, kind: .xorXMM),
    ]

    /// Decodes the instruction at the start of `bytes` (only the first 15 bytes are looked at).
    static func decode(_ bytes: [UInt8], mode: ExecutionMode) throws(DecodeError) -> DecodedInstruction {
        var cursor = Cursor(bytes: bytes)
        let prefixes = try Prefixes.read(&cursor, mode: mode)
        let opcodeStart = cursor.position

        // Remember why the last candidate failed to match, so running out of bytes is not reported as
        // "unsupported".
        var shortage: DecodeError?
        for entry in table where entry.prefix == prefixes.mandatory {
            cursor.position = opcodeStart
            switch cursor.match(entry.opcode) {
            case .mismatch: continue
            case .failed(let error):
                shortage = shortage ?? error
                continue
            case .matched: break
            }
            var instruction = DecodedInstruction(
                mnemonic: entry.mnemonic, kind: entry.kind, length: 0, waits: entry.waits,
                wide: prefixes.rex & 0x8 != 0)
            if instruction.wide, let wide = entry.wideMnemonic { instruction.mnemonic = wide }
            switch entry.form {
            case .fixed:
                break
            case .memory(let digit):
                let modRM: UInt8
                do { modRM = try cursor.peek() } catch {
                    shortage = shortage ?? error
                    continue
                }
                guard Int((modRM >> 3) & 7) == digit, modRM >> 6 != 3 else { continue }
                let (reg, rm) = try cursor.modRM(prefixes: prefixes, mode: mode)
                instruction.reg = reg
                instruction.rm = rm
            case .registerOrMemory:
                let (reg, rm) = try cursor.modRM(prefixes: prefixes, mode: mode)
                instruction.reg = reg
                instruction.rm = rm
            }
            if prefixes.lock { throw .lockPrefix }
            instruction.length = cursor.position
            return instruction
        }
        if prefixes.lock { throw .lockPrefix }
        throw shortage ?? .unsupported
    }

    /// Legacy prefixes and REX as they apply to the opcode that follows them.
    struct Prefixes {
        var operandSize = false
        var addressSize = false
        var lock = false
        /// The last of F2/F3.
        var repeatPrefix: UInt8?
        var segment: SegmentRegister?
        /// REX byte low nibble (W R X B), 0 when absent.
        var rex: UInt8 = 0

        var mandatory: MandatoryPrefix {
            switch repeatPrefix {
            case 0xF2: return .repeatNotEqual
            case 0xF3: return .repeatEqual
            default: return operandSize ? .operandSize : .none
            }
        }

        /// Reads prefixes until the first opcode byte. A REX that is followed by a legacy prefix is
        /// ignored (SDM Vol. 2A §2.2.1); the cursor's 15-byte limit bounds the loop.
        static func read(_ cursor: inout Cursor, mode: ExecutionMode) throws(DecodeError) -> Prefixes {
            var prefixes = Prefixes()
            while true {
                let byte = try cursor.peek()
                switch byte {
                case 0x66: prefixes.operandSize = true
                case 0x67: prefixes.addressSize = true
                case 0xF0: prefixes.lock = true
                case 0xF2, 0xF3: prefixes.repeatPrefix = byte
                case 0x26: prefixes.segment = .es
                case 0x2E: prefixes.segment = .cs
                case 0x36: prefixes.segment = .ss
                case 0x3E: prefixes.segment = .ds
                case 0x64: prefixes.segment = .fs
                case 0x65: prefixes.segment = .gs
                case 0x40...0x4F where mode == .long64:
                    cursor.position += 1
                    prefixes.rex = byte & 0xF
                    continue
                default:
                    return prefixes
                }
                prefixes.rex = 0
                cursor.position += 1
            }
        }
    }

    /// Reads bytes of one instruction, enforcing the 15-byte limit before the end of the input.
    struct Cursor {
        let bytes: [UInt8]
        var position = 0

        enum Match {
            case matched, mismatch
            case failed(DecodeError)
        }

        func peek() throws(DecodeError) -> UInt8 {
            guard position < X86.maximumInstructionLength else { throw .tooLong }
            guard position < bytes.count else { throw .truncated(available: bytes.count) }
            return bytes[position]
        }

        mutating func next() throws(DecodeError) -> UInt8 {
            let byte = try peek()
            position += 1
            return byte
        }

        /// Consumes `opcode` if the input continues with it.
        mutating func match(_ opcode: [UInt8]) -> Match {
            for expected in opcode {
                do {
                    guard try next() == expected else { return .mismatch }
                } catch {
                    return .failed(error)
                }
            }
            return .matched
        }

        mutating func displacement(bytes count: Int) throws(DecodeError) -> Int64 {
            var value: UInt32 = 0
            for shift in 0..<count { value |= UInt32(try next()) << (8 * shift) }
            return count == 1 ? Int64(Int8(truncatingIfNeeded: value)) : Int64(Int32(bitPattern: value))
        }

        /// ModRM, then SIB and displacement as the ModRM calls for (SDM Vol. 2A Tables 2-2, 2-3).
        mutating func modRM(prefixes: Prefixes, mode: ExecutionMode) throws(DecodeError) -> (reg: Int, rm: Operand) {
            let modRM = try next()
            let mod = modRM >> 6
            let reg = Int((modRM >> 3) & 7) | (prefixes.rex & 0x4 != 0 ? 8 : 0)
            let low = Int(modRM & 7)
            let rexB = prefixes.rex & 0x1 != 0 ? 8 : 0
            if mod == 3 { return (reg, .register(low | rexB)) }
            if mode == .protected32 && prefixes.addressSize { throw .sixteenBitAddressing }

            var operand = MemoryOperand(segment: prefixes.segment, addressSize32: prefixes.addressSize)
            if low == 4 {
                let sib = try next()
                let index = Int((sib >> 3) & 7) | (prefixes.rex & 0x2 != 0 ? 8 : 0)
                operand.index = index == 4 ? nil : index
                operand.scale = 1 << UInt64(sib >> 6)
                if sib & 7 == 5 && mod == 0 {
                    operand.displacement = try displacement(bytes: 4)
                } else {
                    operand.base = Int(sib & 7) | rexB
                }
            } else if low == 5 && mod == 0 {
                operand.ripRelative = mode == .long64
                operand.displacement = try displacement(bytes: 4)
            } else {
                operand.base = low | rexB
            }
            switch mod {
            case 1: operand.displacement = try displacement(bytes: 1)
            case 2: operand.displacement = try displacement(bytes: 4)
            default: break
            }
            return (reg, .memory(operand))
        }
    }
}
