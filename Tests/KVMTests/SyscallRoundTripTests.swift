import Foundation
import GuestMemory
import KVM
import Testing

@testable import VMM

/// A ring-3 `syscall` / ring-0 `sysretq` round trip laid out the way Linux lays it out: kernel text in a
/// supervisor-only page, the #PF entry beginning with the CLAC nop site and `cld`, LSTAR written by the
/// guest with WRMSR. On hardware KVM this runs natively; on the software KVM it exercises the VMM's
/// syscall conversion (HOST.md: `syscall` from CPL 3 does not switch to CPL 0 there).
@Suite(.enabled(if: kvmTestsEnabled, "SWIFTVIRT_SKIP_KVM=1"))
struct SyscallRoundTripTests {
    static let kernelBase: UInt64 = 0x1_0000
    static let idtBase: UInt64 = 0x1_1000
    static let gdtBase: UInt64 = 0x1_2000
    static let tssBase: UInt64 = 0x1_3000
    static let pml4: UInt64 = 0x1_4000
    static let kernelGSBase: UInt64 = 0x1_7000
    static let userGSBase: UInt64 = 0x1_7100
    static let kernelStackTop: UInt64 = 0x1_8000
    static let userBase: UInt64 = 0x20_0000

    /// Kernel start-up as Linux does it for `syscall`: STAR (kernel CS 0x10, user base 0x28), LSTAR =
    /// `syscallEntry`, SFMASK masking TF, IF and DF; then `sysretq` to ring 3 at 0x200000 with RFLAGS
    /// `userFlags`. 56 bytes.
    static func enterRing3(syscallEntry: UInt32, userFlags: UInt32 = 0x202) -> [UInt8] {
        [0xB9, 0x81, 0x00, 0x00, 0xC0]  // mov ecx, MSR_STAR
            + [0xBA, 0x10, 0x00, 0x28, 0x00]  // mov edx, 0x00280010 (user base 0x28, kernel CS 0x10)
            + [0x31, 0xC0]  // xor eax, eax
            + [0x0F, 0x30]  // wrmsr
            + [0xB9, 0x82, 0x00, 0x00, 0xC0]  // mov ecx, MSR_LSTAR
            + [0xB8] + littleEndian32(syscallEntry)  // mov eax, syscallEntry
            + [0x31, 0xD2]  // xor edx, edx
            + [0x0F, 0x30]  // wrmsr
            + [0xB9, 0x84, 0x00, 0x00, 0xC0]  // mov ecx, MSR_SYSCALL_MASK
            + [0xB8, 0x00, 0x07, 0x00, 0x00]  // mov eax, 0x700 (mask TF, IF, DF)
            + [0x31, 0xD2]  // xor edx, edx
            + [0x0F, 0x30]  // wrmsr
            + [0xB9, 0x00, 0x00, 0x20, 0x00]  // mov ecx, 0x200000 (user entry)
            + [0x41, 0xBB] + littleEndian32(userFlags)  // mov r11d, userFlags
            + [0x48, 0x0F, 0x07]  // sysretq
    }

    /// An imm32 or disp32 as the instruction stream holds it.
    static func littleEndian32(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    /// Kernel code at 0x10000: syscall entry at +0x3A, #PF entry at +0x80, other exceptions at +0xA0.
    static func kernelCode(userFlags: UInt32 = 0x202) -> [UInt8] {
        var code = enterRing3(syscallEntry: UInt32(kernelBase) + 0x3A, userFlags: userFlags)
        code += [0x66, 0x90]  // xchg ax, ax: pads to the entry
        // syscall_entry (+0x3A):
        code += [0x0F, 0x01, 0xF8]  // swapgs
        code += TinyGuestTests.movDXResultPort64
        code += [0xEE]  // out dx, al            (the syscall number)
        code += [0x88, 0xC3]  // mov bl, al
        code += [0x65, 0x8A, 0x04, 0x25, 0x00, 0x00, 0x00, 0x00]  // mov al, gs:[0] (kernel GS → 0x77)
        code += [0xEE]  // out dx, al
        code += [0x89, 0xF8]  // mov eax, edi         (what user mode put in rdi)
        code += [0xEE]  // out dx, al
        code += [0x80, 0xFB, 0x3C]  // cmp bl, 60
        code += [0x74, 0x06]  // je done
        code += [0x0F, 0x01, 0xF8]  // swapgs
        code += [0x48, 0x0F, 0x07]  // sysretq
        code += [0xF4, 0xEB, 0xFD]  // done: hlt; jmp done
        precondition(code.count <= 0x80)
        code += [UInt8](repeating: 0, count: 0x80 - code.count)
        // page_fault_entry (+0x80): the CLAC site as a 3-byte nop, then cld, as in Linux's asm_exc_page_fault.
        code += [0x0F, 0x1F, 0x00, 0xFC]
        code += TinyGuestTests.movDXResultPort64 + [0xB0, 0xEE, 0xEE]  // out 0xEE: unexpected page fault
        code += [0xF4, 0xEB, 0xFD]
        code += [UInt8](repeating: 0, count: 0xA0 - code.count)
        // other exceptions (+0xA0): out 0xDD and stop.
        code += TinyGuestTests.movDXResultPort64 + [0xB0, 0xDD, 0xEE, 0xF4, 0xEB, 0xFD]
        return code
    }

    /// User mode reports through a register: this host gives ring 3 no IOPL, so `out` would #GP there.
    static let userCode: [UInt8] =
        [0xB8, 0x01, 0x00, 0x00, 0x00]  // mov eax, 1
        + [0x0F, 0x05]  // syscall
        + [0xBF, 0x55, 0x00, 0x00, 0x00]  // mov edi, 0x55
        + [0xB8, 0x3C, 0x00, 0x00, 0x00]  // mov eax, 60
        + [0x0F, 0x05]  // syscall
        + [0xEB, 0xFE]  // jmp $

    static func gate(_ handler: UInt64) -> [UInt8] {
        var gate = [UInt8](repeating: 0, count: 16)
        gate[0] = UInt8(handler & 0xFF)
        gate[1] = UInt8((handler >> 8) & 0xFF)
        gate[2] = 0x10
        gate[5] = 0x8E
        gate[6] = UInt8((handler >> 16) & 0xFF)
        gate[7] = UInt8((handler >> 24) & 0xFF)
        return gate
    }

    static func writeSystemTables(_ memory: GuestMemory) throws {
        for vector in 0..<32 {
            let handler = kernelBase + (vector == 14 ? 0x80 : 0xA0)
            try memory.write(gate(handler), at: GuestAddress(idtBase + UInt64(vector) * 16))
        }
        let gdt: [UInt64] = [
            0,
            0x00CF_9A00_0000_FFFF,  // 0x08 32-bit code (unused)
            0x00AF_9A00_0000_FFFF,  // 0x10 64-bit kernel code
            0x00CF_9200_0000_FFFF,  // 0x18 kernel data
            0x0000_8901_3000_0067,  // 0x20 TSS low: base 0x13000, limit 0x67, available 64-bit TSS
            0,  // 0x28 TSS high
            0x00CF_F200_0000_FFFF,  // 0x30 user data (DPL 3)
            0x00AF_FA00_0000_FFFF,  // 0x38 user 64-bit code (DPL 3)
        ]
        for (index, entry) in gdt.enumerated() {
            try memory.store(entry, at: GuestAddress(gdtBase + UInt64(index) * 8))
        }
        try memory.store(kernelStackTop, at: GuestAddress(tssBase + 4))  // TSS.RSP0
        try memory.store(UInt16(104), at: GuestAddress(tssBase + 102))  // no I/O bitmap
        // Page tables: 0–2 MiB supervisor-only (kernel), 2–4 MiB user.
        try memory.store(UInt64(pml4 + 0x1000) | 0x7, at: GuestAddress(pml4))
        try memory.store(UInt64(pml4 + 0x2000) | 0x7, at: GuestAddress(pml4 + 0x1000))
        try memory.store(UInt64(0x0) | 0x83, at: GuestAddress(pml4 + 0x2000))
        try memory.store(userBase | 0x87, at: GuestAddress(pml4 + 0x2000 + 8))
        try memory.write([0x77], at: GuestAddress(kernelGSBase))
        try memory.write([0x11], at: GuestAddress(userGSBase))
        try memory.write(userCode, at: GuestAddress(userBase))
    }

    @Test func syscallFromRing3ReachesTheKernelAndSysretReturns() throws {
        let port = RecordingPort()
        let machine = try tinyMachine(code: Self.kernelCode(), at: Self.kernelBase, mode: .long, port: port)
        try Self.writeSystemTables(machine.memory)
        try Self.prepareVCPU(machine)
        let exit = try runToExit(machine)
        #expect(exit == .halted(vcpu: 0))
        // syscall 1 (kernel GS byte 0x77, rdi 0) → user mode sets rdi = 0x55 → syscall 60 (0x77, 0x55) → halt.
        #expect(port.bytes == [1, 0x77, 0, 60, 0x77, 0x55])
        if machine.host.convertsSyscalls {
            #expect(machine.statistics.convertedSyscalls.load(ordering: .relaxed) == 2)
        }
    }

    /// Page tables, GDT, IDT and TSS registers, kernel stack and the two GS bases.
    static func prepareVCPU(_ machine: Machine) throws {
        let vcpu = machine.vcpus[0]
        var special = try vcpu.specialRegisters()
        special.cr3 = Self.pml4
        special.gdt = DescriptorTable(base: Self.gdtBase, limit: 8 * 8 - 1)
        special.idt = DescriptorTable(base: Self.idtBase, limit: 32 * 16 - 1)
        special.tr = Segment(base: Self.tssBase, limit: 0x67, selector: 0x20, type: 0xB, s: false)
        special.gs.base = Self.userGSBase
        try vcpu.setSpecialRegisters(special)
        var registers = try vcpu.registers()
        registers.rsp = Self.kernelStackTop
        try vcpu.setRegisters(registers)
        try vcpu.setMSRs([(0xC000_0102, Self.kernelGSBase)])  // KERNEL_GS_BASE
    }

    /// Host fact (kvm_pvm): ring 3 never gets I/O privilege. `sysretq` with IOPL 3 in R11 returns to user
    /// mode with IOPL 0, so a user-mode `out` raises #GP (our handler reports 0xDD); hardware KVM honours
    /// IOPL and the `out` reaches the port.
    @Test func userModeIOPLIsHonouredOnlyOnHardwareKVM() throws {
        let port = RecordingPort()
        let kernel = Self.kernelCode(userFlags: 0x3202)  // IOPL 3, IF
        let machine = try tinyMachine(code: kernel, at: Self.kernelBase, mode: .long, port: port)
        try Self.writeSystemTables(machine.memory)
        let userOut: [UInt8] = TinyGuestTests.movDXResultPort64 + [0xB0, 0x55, 0xEE, 0xEB, 0xFE]  // out 0x55; jmp $
        try machine.memory.write(userOut, at: GuestAddress(Self.userBase))
        try Self.prepareVCPU(machine)
        if machine.host.isSoftwareKVM {
            #expect(try runToExit(machine) == .halted(vcpu: 0))
            #expect(port.bytes == [0xDD])
        } else {
            try machine.start()
            let deadline = Date().addingTimeInterval(10)
            while port.bytes.isEmpty && Date() < deadline { usleep(1000) }
            machine.stop()
            _ = machine.waitForExit()
            #expect(port.bytes == [0x55])
        }
    }
}
