import Foundation
import GuestMemory
import KVM
import Testing

@testable import VMM

/// A kernel switching two tasks' AVX (and, where the CPU has it, AVX-512) state with xsave64/xrstor64 in
/// its syscall path, interrupts off, as Linux does on a context switch. Ring 3 sets YMM1 (and ZMM16),
/// asks for a switch to task B (whose area is all-initial), stores the registers, sets other values,
/// switches back to A, stores, switches to B again, stores.
///
/// This is the kvm_pvm user-space fault of issue 3: ring 3 there runs AVX-512 whatever the guest kernel
/// was told, so a kernel that switched tasks with fxsave (`noxsave`) let one process's ZMM16 leak into
/// another (a static busybox's memcpy of its TLS image stored another task's zeros). With XSAVE left on,
/// the VMM completes these xsave/xrstor.
@Suite(.enabled(if: kvmTestsEnabled, "SWIFTVIRT_SKIP_KVM=1"))
struct XSaveTaskSwitchTests {
    static let taskA: UInt64 = 0x3_0000
    static let taskB: UInt64 = 0x3_1000
    static let results: UInt64 = 0x20_1000
    static let valueA: UInt8 = 0xA1
    static let valueB: UInt8 = 0xB2

    /// Kernel at 0x10000 (IDT as SyscallRoundTripTests lays it out: #PF at +0x80, others at +0xA0). With
    /// `xcr0`, CR4.OSXSAVE is set and XCR0 written first; without, XSAVE stays off, as with `noxsave`.
    static func kernelCode(xcr0: UInt8?) -> [UInt8] {
        var code: [UInt8] = []
        if let xcr0 {
            code +=
                [0x0F, 0x20, 0xE0]  // mov rax, cr4
                + [0x48, 0x0F, 0xBA, 0xE8, 0x12]  // bts rax, 18 (OSXSAVE)
                + [0x0F, 0x22, 0xE0]  // mov cr4, rax
                + [0x31, 0xC9, 0x31, 0xD2]  // xor ecx, ecx; xor edx, edx
                + [0xB8, xcr0, 0x00, 0x00, 0x00]  // mov eax, XCR0
                + [0x0F, 0x01, 0xD1]  // xsetbv
        }
        code += SyscallRoundTripTests.enterRing3(syscallEntry: UInt32(SyscallRoundTripTests.kernelBase) + 0x100)
        code += [UInt8](repeating: 0, count: 0x80 - code.count)
        // #PF entry (+0x80): the CLAC nop site and cld; report the error code, CR2 >> 16 and 0xEE.
        code +=
            [0x0F, 0x1F, 0x00, 0xFC] + TinyGuestTests.movDXResultPort64
            + [0x48, 0x8B, 0x04, 0x24, 0xEE]  // mov rax, [rsp]; out dx, al
            + [0x0F, 0x20, 0xD0, 0x48, 0xC1, 0xE8, 0x10, 0xEE]  // mov rax, cr2; shr rax, 16; out dx, al
            + [0xB0, 0xEE, 0xEE, 0xF4]
        code += [UInt8](repeating: 0, count: 0xA0 - code.count)
        // Other exceptions (+0xA0): report 0xDD.
        code += TinyGuestTests.movDXResultPort64 + [0xB0, 0xDD, 0xEE, 0xF4]
        code += [UInt8](repeating: 0, count: 0x100 - code.count)
        // Syscall entry (+0x100): 60 ends; 3 saves to unmapped 0x400000; 1 saves A and loads B, 2 the reverse.
        code +=
            [0x0F, 0x01, 0xF8]  // swapgs
            + [0x83, 0xF8, 0x3C, 0x74, 0x41]  // cmp eax, 60; je done
            + [0x83, 0xF8, 0x03, 0x74, 0x29]  // cmp eax, 3; je fault
            + [0xBE, 0x00, 0x00, 0x03, 0x00]  // mov esi, taskA
            + [0xBF, 0x00, 0x10, 0x03, 0x00]  // mov edi, taskB
            + [0x83, 0xF8, 0x01, 0x74, 0x02]  // cmp eax, 1; je +2
            + [0x87, 0xFE]  // xchg esi, edi
            + [0xB8, 0xFF, 0xFF, 0xFF, 0xFF]  // mov eax, -1
            + [0xBA, 0xFF, 0xFF, 0xFF, 0xFF]  // mov edx, -1
            + [0x48, 0x0F, 0xAE, 0x26]  // xsave64 [rsi]
            + [0x48, 0x0F, 0xAE, 0x2F]  // xrstor64 [rdi]
            + [0x0F, 0x01, 0xF8]  // swapgs
            + [0x48, 0x0F, 0x07]  // sysretq
            // fault:
            + [0xB8, 0xFF, 0xFF, 0xFF, 0xFF]  // mov eax, -1
            + [0xBA, 0xFF, 0xFF, 0xFF, 0xFF]  // mov edx, -1
            + [0xBF, 0x00, 0x00, 0x40, 0x00]  // mov edi, 0x400000 (not mapped)
            + [0x48, 0x0F, 0xAE, 0x27]  // xsave64 [rdi]
        code += TinyGuestTests.movDXResultPort64 + [0xB0, 0x60, 0xEE, 0xF4]  // done: out 0x60; hlt
        return code
    }

    /// Ring 3: YMM1 (and ZMM16) ← `value` in every byte.
    static func setVectors(_ value: UInt8, avx512: Bool) -> [UInt8] {
        [0x48, 0xB8] + [UInt8](repeating: value, count: 8)  // movabs rax, value×8
            + [0xC4, 0xE1, 0xF9, 0x6E, 0xC8]  // vmovq xmm1, rax
            + [0xC4, 0xE2, 0x7D, 0x59, 0xC9]  // vpbroadcastq ymm1, xmm1
            + (avx512 ? [0x62, 0xE2, 0xFD, 0x48, 0x7C, 0xC0] : [])  // vpbroadcastq zmm16, rax
    }

    /// Ring 3: YMM1 to `results` + slot × 0x100, ZMM16 0x40 further.
    static func storeVectors(slot: UInt32, avx512: Bool) -> [UInt8] {
        let ymm = UInt32(results) + slot * 0x100
        let zmm = ymm + 0x40
        let storeYMM1: [UInt8] = [0xC5, 0xFE, 0x7F, 0x0C, 0x25]  // vmovdqu [disp32], ymm1
        let storeZMM16: [UInt8] = [0x62, 0xE1, 0xFE, 0x48, 0x7F, 0x04, 0x25]  // vmovdqu64 [disp32], zmm16
        return storeYMM1 + SyscallRoundTripTests.littleEndian32(ymm)
            + (avx512 ? storeZMM16 + SyscallRoundTripTests.littleEndian32(zmm) : [])
    }

    static func syscall(_ number: UInt8) -> [UInt8] { [0xB8, number, 0, 0, 0, 0x0F, 0x05] }

    /// Ring 3: A's values, switch to B, store; B's values, switch to A, store; switch to B, store; exit.
    static func userCode(avx512: Bool) -> [UInt8] {
        setVectors(valueA, avx512: avx512) + syscall(1) + storeVectors(slot: 0, avx512: avx512)  // B's initial state
            + setVectors(valueB, avx512: avx512) + syscall(2) + storeVectors(slot: 1, avx512: avx512)  // back in A
            + syscall(1) + storeVectors(slot: 2, avx512: avx512)  // B again
            + [0xBF, 0x55, 0x00, 0x00, 0x00] + syscall(60) + [0xEB, 0xFE]
    }

    /// Host fact (kvm_pvm): ring 3 runs AVX (and AVX-512) with the host's XCR0 even though the guest kernel
    /// never set CR4.OSXSAVE or XCR0, so a guest kernel that turns XSAVE off cannot keep its user space
    /// off those registers. On hardware KVM the first VEX instruction raises #UD (the handler reports
    /// 0xDD).
    @Test(.enabled(if: hostFlags.contains("avx"), "needs AVX"))
    func ringThreeRunsAVXWithoutTheGuestEnablingIt() throws {
        let avx512 = Self.hostFlags.contains("avx512f")
        let port = RecordingPort()
        let machine = try tinyMachine(
            code: Self.kernelCode(xcr0: nil), at: SyscallRoundTripTests.kernelBase, mode: .long, port: port)
        try SyscallRoundTripTests.writeSystemTables(machine.memory)
        let user =
            Self.setVectors(Self.valueA, avx512: avx512) + Self.storeVectors(slot: 0, avx512: avx512)
            + Self.syscall(60) + [0xEB, 0xFE]
        try machine.memory.write(user, at: GuestAddress(SyscallRoundTripTests.userBase))
        try SyscallRoundTripTests.prepareVCPU(machine)
        #expect(try runToExit(machine) == .halted(vcpu: 0))
        guard machine.host.isSoftwareKVM else {
            #expect(port.bytes == [0xDD])
            return
        }
        #expect(port.bytes == [0x60])
        let stored = try machine.memory.read(at: GuestAddress(Self.results), length: avx512 ? 0x80 : 0x20)
        let expected =
            [UInt8](repeating: Self.valueA, count: 0x20)
            + (avx512 ? [UInt8](repeating: 0, count: 0x20) + [UInt8](repeating: Self.valueA, count: 0x40) : [])
        #expect(stored == expected)
    }

    /// An xsave onto an absent page faults as the store would: the guest's #PF handler gets error code 2
    /// (supervisor write, not present) and CR2 = 0x400000. On kvm_pvm the VMM completes the xsave and
    /// injects that fault (with CR2 as the exception payload).
    @Test(.enabled(if: hostFlags.contains("xsave"), "needs XSAVE"))
    func xsaveOntoAnAbsentPageRaisesAPageFault() throws {
        let port = RecordingPort()
        let machine = try tinyMachine(
            code: Self.kernelCode(xcr0: 0x03), at: SyscallRoundTripTests.kernelBase, mode: .long, port: port)
        try SyscallRoundTripTests.writeSystemTables(machine.memory)
        let user: [UInt8] = [0xB8, 0x03, 0x00, 0x00, 0x00, 0x0F, 0x05, 0xEB, 0xFE]  // mov eax, 3; syscall
        try machine.memory.write(user, at: GuestAddress(SyscallRoundTripTests.userBase))
        try SyscallRoundTripTests.prepareVCPU(machine)
        #expect(try runToExit(machine) == .halted(vcpu: 0))
        #expect(port.bytes == [0x02, 0x40, 0xEE])
    }

    /// CPU flags the host kernel reports (the guest's ring 3 runs the host's instructions).
    static let hostFlags: Set<Substring> = {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        return Set(line.split(separator: " "))
    }()

    @Test(.enabled(if: hostFlags.contains("avx") && hostFlags.contains("xsave"), "needs AVX and XSAVE"))
    func ringThreeVectorStateFollowsEachTask() throws {
        let avx512 = Self.hostFlags.contains("avx512f")
        let xcr0: UInt8 = avx512 ? 0xE7 : 0x07
        let port = RecordingPort()
        let machine = try tinyMachine(
            code: Self.kernelCode(xcr0: xcr0), at: SyscallRoundTripTests.kernelBase, mode: .long, port: port)
        try SyscallRoundTripTests.writeSystemTables(machine.memory)
        try machine.memory.write(Self.userCode(avx512: avx512), at: GuestAddress(SyscallRoundTripTests.userBase))
        try SyscallRoundTripTests.prepareVCPU(machine)

        #expect(try runToExit(machine) == .halted(vcpu: 0))
        #expect(port.bytes == [0x60], "0xDD/0xEE: an exception in the guest")
        #expect(try machine.vcpus[0].extendedControlRegisters()[0] == UInt64(xcr0))
        let widths = avx512 ? [(0, 32), (0x40, 64)] : [(0, 32)]
        for (slot, expected) in [(0, UInt8(0)), (1, Self.valueA), (2, Self.valueB)] {
            for (offset, width) in widths {
                let address = Self.results + UInt64(slot * 0x100 + offset)
                let stored = try machine.memory.read(at: GuestAddress(address), length: width)
                #expect(stored == [UInt8](repeating: expected, count: width), "slot \(slot) +\(offset)")
            }
        }
        if machine.host.isSoftwareKVM {
            // Three switches, each an xsave and an xrstor the host's emulator gives up on.
            #expect(machine.statistics.completedInstructions.load(ordering: .relaxed) >= 6)
        }
    }
}
