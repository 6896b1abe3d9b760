import GuestMemory
import KVM
import Testing

@testable import X86Emulation

/// A fake kernel: an IDT whose vector 14 points at `asm_exc_page_fault`, an `entry_SYSCALL_64`, a kernel
/// stack, all at kernel linear addresses mapped to low physical pages.
@Suite struct SyscallConverterTests {
    let cpu = FakeCPU()
    let memory: GuestMemory
    let converter = SyscallConverter()

    static let idtBase: UInt64 = 0xFFFF_FE00_0000_0000
    static let idtPhysical: UInt64 = 0x10000
    static let handler: UInt64 = 0xFFFF_FFFF_8123_4560
    static let handlerPhysical: UInt64 = 0x20560
    static let entry: UInt64 = 0xFFFF_FFFF_8140_0040
    static let entryPhysical: UInt64 = 0x30040
    static let stack: UInt64 = 0xFFFF_C900_0000_3F00
    static let stackPhysical: UInt64 = 0x40F00

    static let star: UInt64 = 0x0023_0010_0000_0000
    static let kernelGSBase: UInt64 = 0xFFFF_8880_7FC0_0000
    static let userGSBase: UInt64 = 0x0000_7F12_3456_7000

    static let linuxHandler: [UInt8] = [0xF3, 0x0F, 0x1E, 0xFA, 0x0F, 0x1F, 0x00, 0xFC, 0x41, 0x57]
    static let linuxEntry: [UInt8] = [0xF3, 0x0F, 0x1E, 0xFA, 0x0F, 0x01, 0xF8, 0x65, 0x48, 0x89]

    init() throws {
        memory = try makeMemory()
        cpu.map(linear: Self.idtBase, physical: Self.idtPhysical)
        cpu.map(linear: Self.handler, physical: Self.handlerPhysical)
        cpu.map(linear: Self.entry, physical: Self.entryPhysical)
        cpu.map(linear: Self.stack, physical: Self.stackPhysical)
        cpu.readOnlyPages = [Self.handler & ~0xFFF, Self.entry & ~0xFFF]  // kernel text
        cpu.sregs.idt = DescriptorTable(base: Self.idtBase, limit: 0xFFF)
        cpu.sregs.gs.base = Self.userGSBase
        cpu.msrValues = [0xC000_0081: Self.star, 0xC000_0102: Self.kernelGSBase]
        try writeGate(handler: Self.handler, attributes: 0x8E)
        try memory.write(Self.linuxHandler, at: GuestAddress(Self.handlerPhysical))
        try memory.write(Self.linuxEntry, at: GuestAddress(Self.entryPhysical))
    }

    func writeGate(handler: UInt64, attributes: UInt8, vector: UInt64 = 14) throws {
        var gate = [UInt8](repeating: 0, count: 16)
        gate[0] = UInt8(truncatingIfNeeded: handler)
        gate[1] = UInt8(truncatingIfNeeded: handler >> 8)
        gate[2] = 0x10  // selector __KERNEL_CS
        gate[5] = attributes
        gate[6] = UInt8(truncatingIfNeeded: handler >> 16)
        gate[7] = UInt8(truncatingIfNeeded: handler >> 24)
        for index in 0..<4 { gate[8 + index] = UInt8(truncatingIfNeeded: handler >> (32 + 8 * index)) }
        try memory.write(gate, at: GuestAddress(Self.idtPhysical + vector * 16))
    }

    func byte(at physical: UInt64) throws -> UInt8 { try memory.load(UInt8.self, at: GuestAddress(physical)) }

    /// The #PF frame [error, RIP, CS, RFLAGS, RSP, SS] at the kernel stack, and the vCPU at the patch.
    func fault(rip: UInt64, cs: UInt64, rflags: UInt64, rsp: UInt64 = 0x7FFC_1234_5670, ss: UInt64 = 0x2B) throws {
        let frame = [0x15, rip, cs, rflags, rsp, ss].flatMap { bytes($0) }
        try memory.write(frame, at: GuestAddress(Self.stackPhysical))
        cpu.regs.rsp = Self.stack
        cpu.regs.rip = try #require(converter.patchAddress)
        cpu.regs.rflags = 0x2 | 0x400  // IF=0 as the interrupt gate left it; DF as the user had it
    }

    // MARK: Patching at the LSTAR write

    @Test func patchesTheCldOfTheLinuxPageFaultEntry() throws {
        try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        #expect(try byte(at: Self.handlerPhysical + 7) == 0xCC)
        #expect(
            try memory.read(at: GuestAddress(Self.handlerPhysical), length: 7) == Array(Self.linuxHandler.prefix(7)))
        #expect(converter.patchAddress == Self.handler + 7)
        #expect(converter.syscallEntry == Self.entry)
        #expect(
            converter.save()
                == SyscallConverter.State(syscallEntry: Self.entry, resumeOffset: 7, patchAddress: Self.handler + 7))
        #expect(try memory.read(at: GuestAddress(Self.entryPhysical), length: 10) == Self.linuxEntry)
    }

    @Test func repeatedLSTARWritesAreIdempotent() throws {
        try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        // The alternatives later turn the raw padding into a 3-byte NOP; the int3 stays ours.
        try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        #expect(converter.patchAddress == Self.handler + 7)
        #expect(try byte(at: Self.handlerPhysical + 7) == 0xCC)
        #expect(try byte(at: Self.handlerPhysical + 8) == 0x41)
    }

    @Test func repatchesWhenTheGuestReloadedItsText() throws {
        try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        try memory.write(Self.linuxHandler, at: GuestAddress(Self.handlerPhysical))
        try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        #expect(try byte(at: Self.handlerPhysical + 7) == 0xCC)
    }

    static let handlerShapes: [([UInt8], UInt64)] = [
        ([0xF3, 0x0F, 0x1E, 0xFA, 0x0F, 0x1F, 0x00, 0xFC], 7),  // endbr64, NOP site, cld
        ([0xF3, 0x0F, 0x1E, 0xFA, 0x90, 0x90, 0x90, 0xFC], 7),  // before apply_alternatives
        ([0x0F, 0x01, 0xCA, 0xFC, 0x56], 3),  // clac, cld
        ([0xF3, 0x0F, 0x1E, 0xFA, 0xFC, 0x56], 4),  // endbr64, cld
        ([0xFC, 0x56], 0),  // cld alone
    ]

    @Test(arguments: handlerShapes)
    func acceptsTheHandlerShapes(handler: [UInt8], cldOffset: UInt64) throws {
        try memory.write(handler, at: GuestAddress(Self.handlerPhysical))
        try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        #expect(converter.patchAddress == Self.handler + cldOffset)
        #expect(try byte(at: Self.handlerPhysical + cldOffset) == 0xCC)
    }

    @Test func anEntryWithoutEndbrResumesAfterThreeBytes() throws {
        try memory.write([0x0F, 0x01, 0xF8, 0x65], at: GuestAddress(Self.entryPhysical))
        try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        #expect(converter.save().resumeOffset == 3)
    }

    // MARK: Rejections

    @Test func rejectsAnEntryWithoutSwapgs() throws {
        try memory.write([0xF3, 0x0F, 0x1E, 0xFA, 0x55, 0x48, 0x89], at: GuestAddress(Self.entryPhysical))
        #expect(
            throws: SyscallConversionError.entryWithoutSwapgs(
                entry: Self.entry, bytes: [0xF3, 0x0F, 0x1E, 0xFA, 0x55, 0x48, 0x89])
        ) {
            try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        }
        #expect(converter.syscallEntry == nil)
        #expect(converter.patchAddress == nil)
        #expect(try byte(at: Self.handlerPhysical + 7) == 0xFC)
    }

    @Test func rejectsAnUnmappedEntry() throws {
        #expect(
            throws: SyscallConversionError.entryUnreadable(
                entry: 0xFFFF_FFFF_8150_0000, .notMapped(linearAddress: 0xFFFF_FFFF_8150_0000))
        ) {
            try converter.lstarWritten(0xFFFF_FFFF_8150_0000, context: cpu, memory: memory)
        }
    }

    @Test func rejectsAHandlerWithoutCld() throws {
        let handler: [UInt8] = [0xF3, 0x0F, 0x1E, 0xFA, 0x0F, 0x1F, 0x00, 0x55]
        try memory.write(handler, at: GuestAddress(Self.handlerPhysical))
        #expect(throws: SyscallConversionError.handlerWithoutCld(handler: Self.handler, bytes: handler)) {
            try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        }
        #expect(converter.patchAddress == nil)
        #expect(try memory.read(at: GuestAddress(Self.handlerPhysical), length: 8) == handler)
        let message = "\(SyscallConversionError.handlerWithoutCld(handler: Self.handler, bytes: handler))"
        #expect(message.contains("f3 0f 1e fa 0f 1f 00 55"))
        #expect(message.contains("user-mode syscalls will not work"))
    }

    @Test func refusesToTakeOverAForeignInt3() throws {
        try memory.write([0xF3, 0x0F, 0x1E, 0xFA, 0x0F, 0x1F, 0x00, 0xCC], at: GuestAddress(Self.handlerPhysical))
        #expect(throws: SyscallConversionError.foreignBreakpoint(address: Self.handler + 7)) {
            try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        }
    }

    @Test func rejectsAnIDTTooSmallForVector14() throws {
        cpu.sregs.idt.limit = 14 * 16 + 14
        #expect(throws: SyscallConversionError.idtTooSmall(limit: 238)) {
            try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        }
        cpu.sregs.idt.limit = 14 * 16 + 15
        try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
    }

    @Test func rejectsAnUnmappedIDT() throws {
        cpu.sregs.idt.base = 0xFFFF_FE00_0010_0000
        #expect(
            throws: SyscallConversionError.idtUnreadable(
                base: 0xFFFF_FE00_0010_0000, .notMapped(linearAddress: 0xFFFF_FE00_0010_00E0))
        ) {
            try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        }
    }

    @Test func rejectsTrapGatesAndAbsentGates() throws {
        try writeGate(handler: Self.handler, attributes: 0x8F)
        #expect(throws: SyscallConversionError.pageFaultGateUnusable(attributes: 0x8F)) {
            try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        }
        try writeGate(handler: Self.handler, attributes: 0x0E)
        #expect(throws: SyscallConversionError.pageFaultGateUnusable(attributes: 0x0E)) {
            try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        }
    }

    @Test func rejectsAnUnmappedHandler() throws {
        try writeGate(handler: 0xFFFF_FFFF_8200_0000, attributes: 0x8E)
        #expect(
            throws: SyscallConversionError.handlerUnreadable(
                handler: 0xFFFF_FFFF_8200_0000, .notMapped(linearAddress: 0xFFFF_FFFF_8200_0000))
        ) {
            try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        }
    }

    // MARK: Breakpoints at the patch

    @Test func convertsTheBrokenSyscall() throws {
        try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        let userFlags: UInt64 = 0x0001_0246  // RF IF ZF PF, after SFMASK would have left them
        try fault(rip: Self.entry, cs: 0x33, rflags: userFlags, rsp: 0x7FFC_1234_5670)
        cpu.regs.rcx = 0x0000_7F00_0000_1234  // the user RIP `syscall` saved
        cpu.regs.r11 = 0x246  // the user RFLAGS `syscall` saved
        cpu.regs.rax = 39  // getpid
        let before = cpu.regs
        let sregsBefore = cpu.sregs

        #expect(try converter.handleBreakpoint(context: cpu, memory: memory) == .convertedSyscall)

        #expect(cpu.regs.rip == Self.entry + 7)
        #expect(cpu.regs.rsp == 0x7FFC_1234_5670)
        #expect(cpu.regs.rflags == 0x46)
        #expect(cpu.regs.rcx == before.rcx && cpu.regs.r11 == before.r11 && cpu.regs.rax == 39)
        // swapgs through the two GS-base MSRs; no segment register written.
        #expect(cpu.sregs.gs.base == Self.kernelGSBase)
        #expect(cpu.msrWrites == [0xC000_0102: Self.userGSBase, 0xC000_0101: Self.kernelGSBase])
        #expect(cpu.specialRegisterWrites == 0)
        #expect(cpu.sregs.cs == sregsBefore.cs && cpu.sregs.ss == sregsBefore.ss && cpu.sregs.fs == sregsBefore.fs)
        #expect(cpu.injected.isEmpty)
    }

    @Test func completesOrdinaryPageFaultsWithTheReplacedCld() throws {
        try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        try fault(rip: 0x0000_5555_0000_1000, cs: 0x33, rflags: 0x246)
        let sregsBefore = cpu.sregs
        var expected = cpu.regs
        expected.rip = Self.handler + 8
        expected.rflags = 0x2

        #expect(try converter.handleBreakpoint(context: cpu, memory: memory) == .pageFault)

        #expect(cpu.regs == expected)
        #expect(cpu.sregs == sregsBefore)
        #expect(cpu.msrWrites.isEmpty)
    }

    @Test func aKernelFaultAtTheEntryIsAnOrdinaryPageFault() throws {
        try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        try fault(rip: Self.entry, cs: 0x10, rflags: 0x46)
        #expect(try converter.handleBreakpoint(context: cpu, memory: memory) == .pageFault)
        #expect(cpu.regs.rip == Self.handler + 8)
        #expect(cpu.sregs.cs.selector == 0x10 && cpu.sregs.gs.base == Self.userGSBase)
    }

    @Test func anUnreadableFrameIsAnOrdinaryPageFault() throws {
        try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        try fault(rip: Self.entry, cs: 0x33, rflags: 0x246)
        cpu.regs.rsp = 0xFFFF_C900_0010_0000
        #expect(try converter.handleBreakpoint(context: cpu, memory: memory) == .pageFault)
        #expect(cpu.regs.rip == Self.handler + 8)
    }

    @Test func otherBreakpointsAreNotOurs() throws {
        cpu.regs.rip = Self.handler + 7
        #expect(try converter.handleBreakpoint(context: cpu, memory: memory) == .notOurs)  // nothing patched yet
        try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        cpu.regs.rip = 0xFFFF_FFFF_8100_0000
        let before = cpu.regs
        #expect(try converter.handleBreakpoint(context: cpu, memory: memory) == .notOurs)
        #expect(cpu.regs == before)
    }

    @Test func aMissingSTARIsAnError() throws {
        try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        try fault(rip: Self.entry, cs: 0x33, rflags: 0x246)
        cpu.msrValues = [:]
        #expect(throws: SyscallConversionError.msrUnavailable(0xC000_0081)) {
            try converter.handleBreakpoint(context: cpu, memory: memory)
        }
    }

    @Test func stateSurvivesASaveAndRestore() throws {
        try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        let restored = SyscallConverter(state: converter.save())
        try fault(rip: Self.entry, cs: 0x33, rflags: 0x246)
        #expect(try restored.handleBreakpoint(context: cpu, memory: memory) == .convertedSyscall)
        #expect(cpu.regs.rip == Self.entry + 7)
    }

    @Test func theCompleterAndTheConverterWorkTogether() throws {
        // The int3 at the patch would otherwise be completed as a guest breakpoint: the VMM asks the
        // converter first.
        try converter.lstarWritten(Self.entry, context: cpu, memory: memory)
        try fault(rip: 0x5555_0000, cs: 0x33, rflags: 0x246)
        if try converter.handleBreakpoint(context: cpu, memory: memory) == .notOurs {
            _ = try InstructionCompleter().complete(context: cpu, memory: memory)
        }
        #expect(cpu.injected.isEmpty)
        #expect(cpu.regs.rip == Self.handler + 8)
    }
}
