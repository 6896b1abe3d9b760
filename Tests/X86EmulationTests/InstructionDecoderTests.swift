import KVM
import Testing

@testable import X86Emulation

@Suite struct InstructionDecoderTests {
    /// (bytes, mnemonic, length) in 64-bit mode; trailing bytes belong to the next instruction.
    static let lengths: [([UInt8], String, Int)] = [
        ([0xCC, 0x90], "int3", 1),
        ([0x9B, 0x90], "fwait", 1),
        ([0x9B, 0xDB, 0xE2], "fclex", 3),
        ([0x9B, 0xDB, 0xE3], "finit", 3),
        ([0xDB, 0xE2, 0x90], "fnclex", 2),
        ([0xDB, 0xE3], "fninit", 2),
        ([0x0F, 0xAE, 0x10], "ldmxcsr", 3),  // [rax]
        ([0x0F, 0xAE, 0x18], "stmxcsr", 3),  // [rax]
        ([0x0F, 0xAE, 0x55, 0xF8], "ldmxcsr", 4),  // [rbp-8]
        ([0x0F, 0xAE, 0x94, 0x24, 0x80, 0, 0, 0], "ldmxcsr", 8),  // [rsp+0x80]: SIB, disp32
        ([0x0F, 0xAE, 0x15, 0x10, 0, 0, 0], "ldmxcsr", 7),  // [rip+0x10]
        ([0x65, 0x0F, 0xAE, 0x14, 0x25, 0, 0x10, 0, 0], "ldmxcsr", 9),  // gs:[0x1000]: SIB, no base
        ([0x41, 0x0F, 0xAE, 0x14, 0x24], "ldmxcsr", 5),  // [r12]: needs SIB
        ([0x41, 0x0F, 0xAE, 0x55, 0x00], "ldmxcsr", 5),  // [r13+0]: needs disp8
        ([0x42, 0x0F, 0xAE, 0x14, 0xA0], "ldmxcsr", 5),  // [rax+r12*4]
        ([0x67, 0x0F, 0xAE, 0x10], "ldmxcsr", 4),  // [eax]
        ([0x3E, 0x48, 0x0F, 0xAE, 0x5C, 0x24, 0x08], "stmxcsr", 7),  // ds: [rsp+8]
        ([0x66, 0x44, 0x0F, 0x6E, 0xC0], "movd", 5),  // movd xmm8, eax (Debian's kernel)
        ([0x66, 0x48, 0x0F, 0x6E, 0xC7], "movq", 5),  // movq xmm0, rdi
        ([0x66, 0x48, 0x0F, 0x6E, 0x0E], "movq", 5),  // movq xmm1, [rsi]
        ([0x66, 0x0F, 0x7E, 0xD8], "movd", 4),  // movd eax, xmm3
        ([0x66, 0x48, 0x0F, 0x7E, 0x17], "movq", 5),  // movq [rdi], xmm2
        ([0x66, 0x0F, 0xEF, 0xC0], "pxor", 4),
        ([0x66, 0x45, 0x0F, 0xEF, 0x84, 0x24, 0, 1, 0, 0], "pxor", 10),  // pxor xmm8, [r12+0x100]
        ([0x0F, 0x57, 0xC9], "xorps", 3),
        ([0x45, 0x0F, 0x57, 0xCA], "xorps", 4),
        ([0x66, 0x0F, 0x57, 0xC0], "xorpd", 4),
        ([0x48, 0x66, 0x0F, 0x6E, 0xC0], "movd", 5),  // REX before 66 is ignored: movd, not movq
        ([0x48, 0x0F, 0xAE, 0x27], "xsave64", 4),  // xsave64 [rdi]: Linux's os_xsave
        ([0x48, 0x0F, 0xAE, 0x2F], "xrstor64", 4),  // xrstor64 [rdi]
        ([0x48, 0x0F, 0xAE, 0x37], "xsaveopt64", 4),
        ([0x0F, 0xAE, 0x64, 0x24, 0x40], "xsave", 5),  // xsave [rsp+0x40]
        ([0x41, 0x0F, 0xAE, 0xAC, 0x24, 0, 2, 0, 0], "xrstor", 9),  // xrstor [r12+0x200]
        (Array(repeating: 0x2E, count: 14) + [0xCC], "int3", 15),  // exactly the limit
        (Array(repeating: 0x66, count: 12) + [0x0F, 0xEF, 0xC0], "pxor", 15),
    ]

    @Test(arguments: lengths)
    func decodesLengthAndMnemonic(bytes: [UInt8], mnemonic: String, length: Int) throws {
        let instruction = try InstructionDecoder.decode(bytes, mode: .long64)
        #expect(instruction.mnemonic == mnemonic)
        #expect(instruction.length == length)
    }

    static let rejections: [([UInt8], DecodeError)] = [
        ([], .truncated(available: 0)),
        ([0x0F], .truncated(available: 1)),
        ([0x0F, 0xAE], .truncated(available: 2)),
        ([0x0F, 0xAE, 0x94, 0x24, 0x80], .truncated(available: 5)),  // disp32 cut short
        ([0x66, 0x0F, 0x6E], .truncated(available: 3)),  // ModRM missing
        (Array(repeating: 0x2E, count: 15) + [0xCC], .tooLong),
        (Array(repeating: 0x66, count: 13) + [0x0F, 0xEF, 0xC0], .tooLong),  // 16 bytes
        ([0xF0, 0x0F, 0xAE, 0x10], .lockPrefix),
        ([0x0F, 0x0B], .unsupported),  // ud2
        ([0xCD, 0x80], .unsupported),  // int 0x80
        ([0x0F, 0xAE, 0xD0], .unsupported),  // /2 with a register operand
        ([0x0F, 0xAE, 0x38], .unsupported),  // clflush
        ([0x0F, 0xAE, 0xE8], .unsupported),  // lfence: /5 with a register operand
        ([0x0F, 0xAE, 0xF0], .unsupported),  // mfence: /6 with a register operand
        ([0x66, 0x0F, 0xAE, 0x37], .unsupported),  // clwb [rdi]: 66 /6
        ([0x0F, 0xC7, 0x27], .unsupported),  // xsavec [rdi]: the compacted form is not completed
        ([0x0F, 0xC7, 0x2F], .unsupported),  // xsaves [rdi]
        ([0xF3, 0x0F, 0x7E, 0xC1], .unsupported),  // movq xmm, xmm/m64
        ([0x66, 0xF3, 0x0F, 0x7E, 0xC1], .unsupported),  // F3 outranks 66
        ([0x0F, 0x6E, 0xC0], .unsupported),  // MMX movd
        ([0x66, 0xCC], .unsupported),
    ]

    @Test(arguments: rejections)
    func rejects(bytes: [UInt8], error: DecodeError) {
        #expect(throws: error) { try InstructionDecoder.decode(bytes, mode: .long64) }
    }

    @Test func decodesModRMFields() throws {
        let sib = try InstructionDecoder.decode([0x42, 0x0F, 0xAE, 0x54, 0xA0, 0xF0], mode: .long64)
        #expect(sib.kind == .ldmxcsr)
        #expect(sib.rm == .memory(MemoryOperand(base: 0, index: 12, scale: 4, displacement: -16)))

        let rip = try InstructionDecoder.decode([0x0F, 0xAE, 0x1D, 0xFC, 0xFF, 0xFF, 0xFF], mode: .long64)
        #expect(rip.rm == .memory(MemoryOperand(displacement: -4, ripRelative: true)))

        let absolute = try InstructionDecoder.decode(
            [0x64, 0x0F, 0xAE, 0x14, 0x25, 0x78, 0x56, 0x34, 0x12], mode: .long64)
        #expect(absolute.rm == .memory(MemoryOperand(displacement: 0x1234_5678, segment: .fs)))

        let noIndex = try InstructionDecoder.decode([0x0F, 0xAE, 0x14, 0xE3], mode: .long64)  // [rbx], SIB index none
        #expect(noIndex.rm == .memory(MemoryOperand(base: 3, scale: 8)))

        let r13 = try InstructionDecoder.decode([0x41, 0x0F, 0xAE, 0x54, 0x25, 0x08], mode: .long64)  // [r13+8]
        #expect(r13.rm == .memory(MemoryOperand(base: 13, displacement: 8)))

        let movd = try InstructionDecoder.decode([0x66, 0x44, 0x0F, 0x6E, 0xC0], mode: .long64)
        #expect(movd.kind == .moveToXMM && movd.reg == 8 && movd.rm == .register(0) && !movd.wide)

        let xorps = try InstructionDecoder.decode([0x45, 0x0F, 0x57, 0xCA], mode: .long64)
        #expect(xorps.reg == 9 && xorps.rm == .register(10))

        let fclex = try InstructionDecoder.decode([0x9B, 0xDB, 0xE2], mode: .long64)
        #expect(fclex.kind == .fnclex && fclex.waits)
    }

    @Test func decodesThirtyTwoBitMode() throws {
        let absolute = try InstructionDecoder.decode([0x0F, 0xAE, 0x15, 0x00, 0x10, 0, 0], mode: .protected32)
        #expect(absolute.rm == .memory(MemoryOperand(displacement: 0x1000)))
        #expect(absolute.length == 7)
        // 0x40 is `inc eax` outside 64-bit mode, not REX.
        #expect(throws: DecodeError.unsupported) {
            try InstructionDecoder.decode([0x40, 0x0F, 0xAE, 0x10], mode: .protected32)
        }
        #expect(throws: DecodeError.sixteenBitAddressing) {
            try InstructionDecoder.decode([0x67, 0x0F, 0xAE, 0x10], mode: .protected32)
        }
        #expect(try InstructionDecoder.decode([0xDB, 0xE2], mode: .protected32).length == 2)
    }

    @Test func computesLinearAddresses() {
        var registers = Registers()
        registers.rax = 0x1000
        registers.rbx = 0xFFFF_FFFF_0000_0010
        registers.r12 = 0x20
        registers.rbp = 0x5000
        var special = SpecialRegisters()
        special.gs.base = 0xFFFF_8880_0000_0000
        special.fs.base = 0x7F00_0000_0000
        special.ds.base = 0x10_0000
        special.ss.base = 0x20_0000

        func address(_ operand: MemoryOperand, _ mode: ExecutionMode = .long64, next: UInt64 = 0x40_0007) -> UInt64 {
            operand.linearAddress(registers: registers, specialRegisters: special, mode: mode, nextInstruction: next)
        }
        #expect(address(MemoryOperand(base: 0, index: 12, scale: 4, displacement: -16)) == 0x1000 + 0x80 - 16)
        #expect(address(MemoryOperand(displacement: 0x10, ripRelative: true)) == 0x40_0017)
        #expect(address(MemoryOperand(displacement: -8, ripRelative: true)) == 0x40_0007 - 8)
        #expect(address(MemoryOperand(displacement: 0x18, segment: .gs)) == 0xFFFF_8880_0000_0018)
        #expect(address(MemoryOperand(base: 0, segment: .fs)) == 0x7F00_0000_1000)
        // DS/SS overrides add nothing in 64-bit mode.
        #expect(address(MemoryOperand(base: 0, segment: .ds)) == 0x1000)
        // 0x67 truncates the effective address before the segment base is added.
        #expect(address(MemoryOperand(base: 3, segment: .gs, addressSize32: true)) == 0xFFFF_8880_0000_0010)
        // 32-bit mode: DS by default, SS for an EBP base, wrap at 4 GiB.
        #expect(address(MemoryOperand(base: 0), .protected32) == 0x10_1000)
        #expect(address(MemoryOperand(base: 5, displacement: -4), .protected32) == 0x20_4FFC)
        #expect(address(MemoryOperand(base: 3), .protected32) == 0x10_0010)
    }
}
