import GuestMemory
import KVM
import Testing

@testable import X86Emulation

@Suite struct FaultReportTests {
    @Test func describesTheVCPU() {
        var registers = Registers()
        for index in 0..<16 { registers[encoding: index] = 0x1111_0000_0000_0000 &* UInt64(index) &+ UInt64(index) }
        registers.rip = 0xFFFF_FFFF_8100_1234
        registers.rflags = 0x0000_0000_0000_0246
        var special = SpecialRegisters()
        special.cs.selector = 0x33
        special.cr0 = 0x8005_0033
        special.cr3 = 0x1234_5000
        special.cr4 = 0x0000_06B0
        special.efer = 0x0D01
        let report = FaultReport(
            reason: "the VMM does not complete this instruction", registers: registers, specialRegisters: special,
            instruction: .bytes([0x0F, 0x0B]))
        let text = report.description
        #expect(text.contains("the VMM does not complete this instruction"))
        #expect(text.contains("RIP ffffffff81001234"))
        #expect(text.contains("CS 0033 (CPL 3)"))
        #expect(text.contains("RFLAGS 0000000000000246 [IF=1 PF ZF]"))
        #expect(text.contains("CR0 0000000080050033"))
        #expect(text.contains("CR3 0000000012345000"))
        #expect(text.contains("CR4 00000000000006b0"))
        #expect(text.contains("EFER 0000000000000d01"))
        #expect(text.contains("RAX 0000000000000000"))
        #expect(text.contains("R15 ffff00000000000f"))  // 0x1111… × 15 wraps to 0xFFFF…
        for name in ["RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "RSP", "R8 ", "R9 ", "R10", "R11", "R12", "R13", "R14"] {
            #expect(text.contains(name))
        }
        #expect(text.contains("bytes at RIP: 0f 0b"))
        #expect(report.privilegeLevel == 3)
    }

    @Test func showsInterruptsOffAndUnreadableBytes() {
        var registers = Registers()
        registers.rflags = 0x402  // DF
        let report = FaultReport(
            reason: "test", registers: registers, specialRegisters: SpecialRegisters(),
            instruction: .unreadable("linear address 0x1000 is not mapped by the guest page tables"))
        #expect(report.description.contains("[IF=0 DF]"))
        #expect(report.description.contains("bytes at RIP: unreadable: linear address 0x1000 is not mapped"))
    }

    @Test func captureReadsTheVCPU() throws {
        let cpu = FakeCPU()
        let memory = try makeMemory()
        cpu.regs.rip = 0x3000
        try memory.write([0xCD, 0x80], at: GuestAddress(0x3000))
        let report = try FaultReport.capture(reason: "int 0x80", context: cpu, memory: memory)
        #expect(report.registers == cpu.regs)
        guard case .bytes(let bytes) = report.instruction else {
            Issue.record("bytes expected")
            return
        }
        #expect(bytes.prefix(2) == [0xCD, 0x80])
        #expect(bytes.count == 15)
    }
}
