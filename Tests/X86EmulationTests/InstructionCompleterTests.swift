import GuestMemory
import KVM
import Testing

@testable import X86Emulation

/// Each test puts code at linear (= physical) 0x1000 in a 64-bit CPL-0 vCPU unless it says otherwise.
@Suite struct InstructionCompleterTests {
    let cpu = FakeCPU()
    let memory: GuestMemory
    let codeAddress: UInt64 = 0x1000

    init() throws {
        memory = try makeMemory()
        cpu.regs.rip = codeAddress
    }

    func run(_ code: [UInt8]) throws -> Completion {
        try memory.write(code, at: GuestAddress(codeAddress))
        return try InstructionCompleter().complete(context: cpu, memory: memory)
    }

    func xmm(_ index: Int) -> [UInt8] { Array(cpu.fpuState.xmm[index * 16..<index * 16 + 16]) }
    func setXMM(_ index: Int, _ value: [UInt8]) {
        cpu.fpuState.xmm.replaceSubrange(index * 16..<index * 16 + 16, with: value)
    }

    // MARK: int3 and x87

    @Test func int3StepsPastAndInjectsBreakpoint() throws {
        #expect(try run([0xCC]) == .completed(mnemonic: "int3"))
        #expect(cpu.regs.rip == codeAddress + 1)
        #expect(cpu.injected == [FakeCPU.Injection(vector: 3, errorCode: nil)])
    }

    @Test func fwaitIsSkipped() throws {
        #expect(try run([0x9B]) == .completed(mnemonic: "fwait"))
        #expect(cpu.regs.rip == codeAddress + 1)
        #expect(cpu.injected.isEmpty)
    }

    @Test func fwaitRaisesPendingX87Exceptions() throws {
        cpu.fpuState.fsw = 0x0081  // ES + IE
        #expect(try run([0x9B]) == .completed(mnemonic: "fwait (#MF injected)"))
        #expect(cpu.regs.rip == codeAddress)
        #expect(cpu.injected == [FakeCPU.Injection(vector: 16, errorCode: nil)])
    }

    @Test func fnclexClearsExceptionFlagsAndBusy() throws {
        cpu.fpuState.fsw = 0xB8FF  // B, TOP=7, C3... all exception flags
        cpu.fpuState.fcw = 0x027F
        #expect(try run([0xDB, 0xE2]) == .completed(mnemonic: "fnclex"))
        #expect(cpu.fpuState.fsw == 0x3800)
        #expect(cpu.fpuState.fcw == 0x027F)
        #expect(cpu.regs.rip == codeAddress + 2)
    }

    @Test func fclexIsOneThreeByteInstruction() throws {
        cpu.fpuState.fsw = 0x0041  // SF + IE, ES clear: nothing pending for fwait
        #expect(try run([0x9B, 0xDB, 0xE2]) == .completed(mnemonic: "fclex"))
        #expect(cpu.fpuState.fsw == 0)
        #expect(cpu.regs.rip == codeAddress + 3)
    }

    @Test func fninitResetsTheX87() throws {
        cpu.fpuState.fcw = 0x0000
        cpu.fpuState.fsw = 0x3A81
        cpu.fpuState.ftwx = 0xFF
        cpu.fpuState.lastOpcode = 0x1DB
        cpu.fpuState.lastIP = 0xFFFF_FFFF_8100_0000
        cpu.fpuState.lastDP = 0x1234
        cpu.fpuState.mxcsr = 0x1FA0
        #expect(try run([0xDB, 0xE3]) == .completed(mnemonic: "fninit"))
        #expect(cpu.fpuState.fcw == 0x37F)
        #expect(cpu.fpuState.fsw == 0)
        #expect(cpu.fpuState.ftwx == 0)
        #expect(cpu.fpuState.lastOpcode == 0 && cpu.fpuState.lastIP == 0 && cpu.fpuState.lastDP == 0)
        #expect(cpu.fpuState.mxcsr == 0x1FA0)  // FNINIT leaves SSE state alone
        #expect(cpu.regs.rip == codeAddress + 2)

        cpu.regs.rip = codeAddress
        cpu.fpuState.fcw = 0
        #expect(try run([0x9B, 0xDB, 0xE3]) == .completed(mnemonic: "finit"))
        #expect(cpu.fpuState.fcw == 0x37F)
        #expect(cpu.regs.rip == codeAddress + 3)
    }

    @Test func x87WithTaskSwitchedRaisesDeviceNotAvailable() throws {
        cpu.sregs.cr0 |= 1 << 3
        #expect(try run([0xDB, 0xE2]) == .completed(mnemonic: "fnclex (#NM injected)"))
        #expect(cpu.injected == [FakeCPU.Injection(vector: 7, errorCode: nil)])
        #expect(cpu.regs.rip == codeAddress)
    }

    // MARK: MXCSR

    @Test func ldmxcsrLoadsFromMemory() throws {
        cpu.regs.rax = 0x8000
        try memory.store(UInt32(0x1FA0), at: GuestAddress(0x8000))
        #expect(try run([0x0F, 0xAE, 0x10]) == .completed(mnemonic: "ldmxcsr"))
        #expect(cpu.fpuState.mxcsr == 0x1FA0)
        #expect(cpu.regs.rip == codeAddress + 3)
    }

    @Test func ldmxcsrWithReservedBitsRaisesGeneralProtection() throws {
        cpu.regs.rax = 0x8000
        try memory.store(UInt32(0x0001_1F80), at: GuestAddress(0x8000))
        #expect(try run([0x0F, 0xAE, 0x10]) == .completed(mnemonic: "ldmxcsr (#GP(0) injected)"))
        #expect(cpu.fpuState.mxcsr == 0x1F80)
        #expect(cpu.injected == [FakeCPU.Injection(vector: 13, errorCode: 0)])
        #expect(cpu.regs.rip == codeAddress)
    }

    @Test func ldmxcsrThroughGSAndRIPRelative() throws {
        cpu.sregs.gs.base = 0x10_0000
        try memory.store(UInt32(0x1F81), at: GuestAddress(0x10_0040))
        // ldmxcsr %gs:0x40
        #expect(try run([0x65, 0x0F, 0xAE, 0x14, 0x25, 0x40, 0, 0, 0]) == .completed(mnemonic: "ldmxcsr"))
        #expect(cpu.fpuState.mxcsr == 0x1F81)
        #expect(cpu.regs.rip == codeAddress + 9)

        cpu.regs.rip = codeAddress
        try memory.store(UInt32(0x1F82), at: GuestAddress(codeAddress + 7 + 0x100))
        #expect(try run([0x0F, 0xAE, 0x15, 0x00, 0x01, 0, 0]) == .completed(mnemonic: "ldmxcsr"))
        #expect(cpu.fpuState.mxcsr == 0x1F82)
    }

    @Test func stmxcsrStoresToMemory() throws {
        cpu.fpuState.mxcsr = 0x9FC0
        cpu.regs.rsp = 0x9000
        // stmxcsr 0x8(%rsp)
        #expect(try run([0x0F, 0xAE, 0x5C, 0x24, 0x08]) == .completed(mnemonic: "stmxcsr"))
        #expect(try memory.load(UInt32.self, at: GuestAddress(0x9008)) == 0x9FC0)
        #expect(cpu.regs.rip == codeAddress + 5)
    }

    @Test func sseWithoutOSFXSRRaisesInvalidOpcode() throws {
        cpu.sregs.cr4 &= ~(1 << 9)
        cpu.regs.rax = 0x8000
        #expect(try run([0x0F, 0xAE, 0x10]) == .completed(mnemonic: "ldmxcsr (#UD injected)"))
        #expect(cpu.injected == [FakeCPU.Injection(vector: 6, errorCode: nil)])
    }

    // MARK: SSE2 moves and XORs

    @Test func movdIntoHighXMMZeroExtends() throws {
        cpu.regs.rax = 0x1122_3344_5566_7788
        setXMM(8, Array(repeating: 0xEE, count: 16))
        #expect(try run([0x66, 0x44, 0x0F, 0x6E, 0xC0]) == .completed(mnemonic: "movd"))
        #expect(xmm(8) == [0x88, 0x77, 0x66, 0x55] + Array(repeating: 0, count: 12))
        #expect(cpu.regs.rip == codeAddress + 5)
    }

    @Test func movqFromMemoryIntoXMM() throws {
        cpu.regs.rsi = 0x8000
        try memory.store(UInt64(0x0102_0304_0506_0708), at: GuestAddress(0x8000))
        setXMM(1, Array(repeating: 0xEE, count: 16))
        #expect(try run([0x66, 0x48, 0x0F, 0x6E, 0x0E]) == .completed(mnemonic: "movq"))
        #expect(xmm(1) == bytes(0x0102_0304_0506_0708) + Array(repeating: 0, count: 8))
    }

    @Test func movdFromXMMToRegisterZeroExtends() throws {
        cpu.regs.rax = 0xFFFF_FFFF_FFFF_FFFF
        setXMM(3, Array(1...16))
        #expect(try run([0x66, 0x0F, 0x7E, 0xD8]) == .completed(mnemonic: "movd"))
        #expect(cpu.regs.rax == 0x0403_0201)
        #expect(cpu.regs.rip == codeAddress + 4)
    }

    @Test func movqFromXMMToMemory() throws {
        cpu.regs.rdi = 0x8000
        setXMM(2, Array(1...16))
        #expect(try run([0x66, 0x48, 0x0F, 0x7E, 0x17]) == .completed(mnemonic: "movq"))
        #expect(try memory.read(at: GuestAddress(0x8000), length: 9) == Array(1...8) + [0])
    }

    @Test func pxorAndXorps() throws {
        setXMM(0, Array(1...16))
        #expect(try run([0x66, 0x0F, 0xEF, 0xC0]) == .completed(mnemonic: "pxor"))
        #expect(xmm(0) == Array(repeating: 0, count: 16))

        cpu.regs.rip = codeAddress
        setXMM(9, Array(repeating: 0xFF, count: 16))
        setXMM(10, Array(repeating: 0x0F, count: 16))
        #expect(try run([0x45, 0x0F, 0x57, 0xCA]) == .completed(mnemonic: "xorps"))
        #expect(xmm(9) == Array(repeating: 0xF0, count: 16))
        #expect(xmm(10) == Array(repeating: 0x0F, count: 16))
        #expect(cpu.regs.rip == codeAddress + 4)
    }

    @Test func pxorWithMemoryNeedsAlignment() throws {
        cpu.regs.rax = 0x8000
        try memory.write(Array(repeating: 0x55, count: 16), at: GuestAddress(0x8000))
        setXMM(1, Array(repeating: 0xFF, count: 16))
        #expect(try run([0x66, 0x0F, 0xEF, 0x08]) == .completed(mnemonic: "pxor"))
        #expect(xmm(1) == Array(repeating: 0xAA, count: 16))

        cpu.regs.rip = codeAddress
        cpu.regs.rax = 0x8004
        #expect(try run([0x66, 0x0F, 0xEF, 0x08]) == .completed(mnemonic: "pxor (#GP(0) injected)"))
        #expect(cpu.injected == [FakeCPU.Injection(vector: 13, errorCode: 0)])
        #expect(cpu.regs.rip == codeAddress)
    }

    // MARK: What is not completed

    @Test func unknownInstructionsAreReportedWithTheirBytes() throws {
        guard case .unhandled(let report) = try run([0x0F, 0x0B, 0x90]) else {
            Issue.record("ud2 must not complete")
            return
        }
        #expect(report.instruction == .bytes([0x0F, 0x0B, 0x90] + Array(repeating: 0, count: 12)))
        #expect(report.description.contains("0f 0b 90"))
        #expect(report.description.contains("does not complete"))
        #expect(cpu.regs.rip == codeAddress)
        #expect(cpu.injected.isEmpty)
    }

    /// As the CPU does (SDM Vol. 3A §4.7): an absent page is a #PF with CR2 and P = 0, a read-only page
    /// under a store a #PF with P = 1 and W = 1, ring 3 on a supervisor page a #PF with U = 1; RIP stays.
    @Test func faultingMemoryOperandsRaisePageFaults() throws {
        cpu.map(linear: codeAddress, physical: codeAddress)
        cpu.regs.rax = 0x7010
        #expect(try run([0x0F, 0xAE, 0x10]) == .completed(mnemonic: "ldmxcsr (#PF injected)"))  // ldmxcsr [rax]
        #expect(cpu.injected == [FakeCPU.Injection(vector: 14, errorCode: 0)])
        #expect(cpu.sregs.cr2 == 0x7010)
        #expect(cpu.regs.rip == codeAddress)

        cpu.injected = []
        cpu.map(linear: 0x7000, physical: 0x7000)
        cpu.readOnlyPages = [0x7000]
        #expect(try run([0x0F, 0xAE, 0x18]) == .completed(mnemonic: "stmxcsr (#PF injected)"))  // stmxcsr [rax]
        #expect(cpu.injected == [FakeCPU.Injection(vector: 14, errorCode: 0b011)])
        #expect(try memory.read(at: GuestAddress(0x7010), length: 4) == [0, 0, 0, 0])  // nothing stored

        cpu.injected = []
        cpu.readOnlyPages = []
        cpu.supervisorPages = [0x7000]
        cpu.sregs.cs.selector = 0x33  // ring 3
        #expect(try run([0x0F, 0xAE, 0x10]) == .completed(mnemonic: "ldmxcsr (#PF injected)"))
        #expect(cpu.injected == [FakeCPU.Injection(vector: 14, errorCode: 0b101)])
    }

    @Test func nonCanonicalOperandsRaiseGeneralProtection() throws {
        cpu.regs.rax = 0x0000_8000_0000_0000
        cpu.pages = [codeAddress: codeAddress]
        #expect(try run([0x0F, 0xAE, 0x10]) == .completed(mnemonic: "ldmxcsr (#GP(0) injected)"))
        #expect(cpu.injected == [FakeCPU.Injection(vector: 13, errorCode: 0)])
    }

    /// A mapping onto something that is not RAM (the MMIO hole) is not something the completer can access:
    /// the VM stops with the report.
    @Test func operandsOutsideRAMAreReported() throws {
        cpu.map(linear: codeAddress, physical: codeAddress)
        cpu.map(linear: 0x7000, physical: 0xD000_0000)
        cpu.regs.rax = 0x7000
        guard case .unhandled(let report) = try run([0x0F, 0xAE, 0x10]) else {
            Issue.record("an operand outside RAM must not complete")
            return
        }
        #expect(report.reason.contains("outside guest RAM"))
        #expect(report.instruction == .bytes([0x0F, 0xAE, 0x10]))
        #expect(cpu.regs.rip == codeAddress)
        #expect(cpu.injected.isEmpty)
    }

    @Test func unreadableCodeIsReported() throws {
        cpu.pages = [:]
        guard case .unhandled(let report) = try InstructionCompleter().complete(context: cpu, memory: memory) else {
            Issue.record("unmapped code must not complete")
            return
        }
        #expect(report.description.contains("unreadable: linear address 0x1000 is not mapped"))
    }

    @Test func instructionsStraddlingPagesAreFetchedAcrossThem() throws {
        cpu.map(linear: 0x1000, physical: 0x6000)
        cpu.map(linear: 0x2000, physical: 0x3000)
        cpu.regs.rip = 0x1FFE
        cpu.regs.rax = 0x8000
        cpu.map(linear: 0x8000, physical: 0x8000)
        try memory.write([0x0F, 0xAE], at: GuestAddress(0x6FFE))
        try memory.write([0x10], at: GuestAddress(0x3000))
        try memory.store(UInt32(0x1F90), at: GuestAddress(0x8000))
        #expect(try InstructionCompleter().complete(context: cpu, memory: memory) == .completed(mnemonic: "ldmxcsr"))
        #expect(cpu.fpuState.mxcsr == 0x1F90)
        #expect(cpu.regs.rip == 0x2001)
    }

    @Test func anInstructionCutByAnUnmappedPageIsReported() throws {
        cpu.map(linear: 0x1000, physical: 0x6000)
        cpu.regs.rip = 0x1FFE
        try memory.write([0x0F, 0xAE], at: GuestAddress(0x6FFE))
        guard case .unhandled(let report) = try InstructionCompleter().complete(context: cpu, memory: memory) else {
            Issue.record("a truncated instruction must not complete")
            return
        }
        #expect(report.instruction == .bytes([0x0F, 0xAE]))
        #expect(report.reason.contains("2 readable bytes"))
    }

    // MARK: Modes

    @Test func thirtyTwoBitCodeAddsTheCSBase() throws {
        cpu.sregs.efer = 0
        cpu.sregs.cs = Segment(base: 0x1000, limit: 0xFFFF_FFFF, selector: 0x08, type: 0xB, db: true, g: true)
        cpu.regs.rip = 0x10
        try memory.write([0xDB, 0xE2], at: GuestAddress(0x1010))
        cpu.fpuState.fsw = 0x00FF
        #expect(try InstructionCompleter().complete(context: cpu, memory: memory) == .completed(mnemonic: "fnclex"))
        #expect(cpu.regs.rip == 0x12)
        #expect(cpu.fpuState.fsw == 0)
    }

    @Test func realModeIsLeftToKVM() throws {
        cpu.sregs.cr0 = 0x10
        cpu.sregs.efer = 0
        cpu.sregs.cs = Segment()
        guard case .unhandled(let report) = try run([0xCC]) else {
            Issue.record("real mode must not complete")
            return
        }
        #expect(report.reason.contains("real mode"))
        #expect(cpu.injected.isEmpty)
    }
}
