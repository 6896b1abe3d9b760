import Foundation
import GuestMemory
import KVM
import Testing

@testable import VMM

/// Tiny guest programs, hand-assembled (each byte group is commented with its instruction), run on the
/// real /dev/kvm through the same Machine and vCPU loop that boots Linux.
@Suite(.enabled(if: kvmTestsEnabled, "SWIFTVIRT_SKIP_KVM=1"), .serialized)
struct TinyGuestTests {
    /// mov dx, 0x510 (real mode, 16-bit operand).
    static let movDXResultPort16: [UInt8] = [0xBA, 0x10, 0x05]
    /// mov dx, 0x510 (long mode: operand-size prefix).
    static let movDXResultPort64: [UInt8] = [0x66, 0xBA, 0x10, 0x05]

    @Test func portWriteAndReadInRealMode() throws {
        let port = RecordingPort(readValue: 0x10)
        let code: [UInt8] =
            Self.movDXResultPort16
            + [0xB0, 0x42]  // mov al, 0x42
            + [0xEE]  // out dx, al
            + [0xEC]  // in al, dx
            + [0x04, 0x01]  // add al, 1
            + [0xEE]  // out dx, al
            + [0xF4]  // hlt
        let machine = try tinyMachine(code: code, mode: .real, port: port)
        let exit = try runToExit(machine)
        #expect(exit == .halted(vcpu: 0))
        #expect(port.bytes == [0x42, 0x11])
    }

    @Test func guestMemoryIsSharedWithTheHostBothWays() throws {
        let code: [UInt8] = [
            0xA1, 0x00, 0x30,  // mov ax, [0x3000]   (ds base = load address 0x10000)
            0x01, 0xC0,  // add ax, ax
            0xA3, 0x08, 0x30,  // mov [0x3008], ax
            0xF4,  // hlt
        ]
        let machine = try tinyMachine(code: code, mode: .real)
        try machine.memory.store(UInt16(0x1234), at: GuestAddress(0x1_3000))
        #expect(try runToExit(machine) == .halted(vcpu: 0))
        #expect(try machine.memory.load(UInt16.self, at: GuestAddress(0x1_3008)) == 0x2468)
    }

    @Test func mmioWriteAndReadInLongMode() throws {
        let mmio = RecordingMMIO(readValue: 0xAB)
        let port = RecordingPort()
        let code: [UInt8] =
            [0x48, 0xB8, 0x00, 0x00, 0x00, 0xD0, 0x00, 0x00, 0x00, 0x00]  // mov rax, 0xD0000000
            + [0xC7, 0x00, 0x78, 0x56, 0x34, 0x12]  // mov dword [rax], 0x12345678
            + [0x8B, 0x18]  // mov ebx, [rax]
            + Self.movDXResultPort64
            + [0x88, 0xD8]  // mov al, bl
            + [0xEE]  // out dx, al
            + [0xF4]  // hlt
        let machine = try tinyMachine(
            code: code, mode: .long, port: port,
            extra: [.init(bus: .mmio, base: 0xD000_0000, length: 0x1000, device: mmio)])
        #expect(try runToExit(machine) == .halted(vcpu: 0))
        #expect(mmio.writes.count == 1)
        #expect(mmio.writes.first?.offset == 0)
        #expect(mmio.writes.first?.size == 4)
        #expect(mmio.writes.first?.value == 0x1234_5678)
        #expect(port.bytes == [0xAB])
    }

    /// KVM_IOEVENTFD with a datamatch: the matching write signals the eventfd inside KVM (the MMIO
    /// device never sees it), a write of another value still exits to the device.
    @Test func ioEventNotifierTakesMatchingWritesWithoutAnExit() throws {
        let mmio = RecordingMMIO(readValue: 0)
        let code: [UInt8] =
            [0x48, 0xB8, 0x50, 0x00, 0x00, 0xD0, 0x00, 0x00, 0x00, 0x00]  // mov rax, 0xD0000050
            + [0xC7, 0x00, 0x01, 0x00, 0x00, 0x00]  // mov dword [rax], 1  (matches: no exit)
            + [0xC7, 0x00, 0x01, 0x00, 0x00, 0x00]  // mov dword [rax], 1  (matches: no exit)
            + [0xC7, 0x00, 0x02, 0x00, 0x00, 0x00]  // mov dword [rax], 2  (exits to the device)
            + [0xF4]  // hlt
        let machine = try tinyMachine(
            code: code, mode: .long, extra: [.init(bus: .mmio, base: 0xD000_0000, length: 0x1000, device: mmio)])
        let notifier = try EventNotifier()
        try machine.vm.attachIOEvent(notifier, address: 0xD000_0050, length: 4, datamatch: 1)
        #expect(try runToExit(machine) == .halted(vcpu: 0))
        #expect(notifier.consume() == 2)
        #expect(notifier.consume() == 0)
        #expect(mmio.writes.count == 1)
        #expect(mmio.writes.first?.offset == 0x50)
        #expect(mmio.writes.first?.value == 2)
        try machine.vm.detachIOEvent(notifier, address: 0xD000_0050, length: 4, datamatch: 1)
    }

    @Test func twoVCPUsEachReportTheirAPICID() throws {
        let port = RecordingPort()
        let code: [UInt8] =
            [0x48, 0xBB, 0x20, 0x00, 0xE0, 0xFE, 0x00, 0x00, 0x00, 0x00]  // mov rbx, 0xFEE00020 (LAPIC ID)
            + [0x8B, 0x03]  // mov eax, [rbx]
            + [0xC1, 0xE8, 0x18]  // shr eax, 24
            + Self.movDXResultPort64
            + [0xEE]  // out dx, al
            + [0xF4, 0xEB, 0xFD]  // 1: hlt; jmp 1b
        let machine = try tinyMachine(code: code, mode: .long, irqchip: true, vcpus: 2, port: port)
        try machine.start()
        let deadline = Date().addingTimeInterval(30)
        while port.bytes.count < 2 && Date() < deadline { usleep(5_000) }
        machine.stop()
        #expect(machine.waitForExit() == .stopped)
        #expect(port.bytes.sorted() == [0, 1])
    }

    /// IDT at 0x11000 with a #BP gate to 0x10040, IDTR at 0x11100.
    static func installBreakpointIDT(_ memory: GuestMemory) throws {
        let handler: UInt64 = 0x1_0040
        var gate = [UInt8](repeating: 0, count: 16)
        gate[0] = UInt8(handler & 0xFF)
        gate[1] = UInt8((handler >> 8) & 0xFF)
        gate[2] = 0x10  // selector: the 64-bit code segment
        gate[5] = 0x8E  // present, DPL 0, 64-bit interrupt gate
        gate[6] = UInt8((handler >> 16) & 0xFF)
        gate[7] = UInt8((handler >> 24) & 0xFF)
        try memory.write(gate, at: GuestAddress(0x1_1000 + 3 * 16))
        try memory.store(UInt16(4 * 16 - 1), at: GuestAddress(0x1_1100))
        try memory.store(UInt64(0x1_1000), at: GuestAddress(0x1_1102))
        let handlerCode: [UInt8] =
            movDXResultPort64
            + [0xB0, 0xBB]  // mov al, 0xBB
            + [0xEE]  // out dx, al
            + [0x48, 0xCF]  // iretq
        try memory.write(handlerCode, at: GuestAddress(handler))
    }

    @Test func int3WithInterruptsOffReachesTheGuestHandler() throws {
        let port = RecordingPort()
        let code: [UInt8] =
            [0x0F, 0x01, 0x1C, 0x25, 0x00, 0x11, 0x01, 0x00]  // lidt [0x11100]
            + [0xCC]  // int3 (IF=0: the software KVM's emulator gives up here)
            + Self.movDXResultPort64
            + [0xB0, 0xAA]  // mov al, 0xAA
            + [0xEE]  // out dx, al
            + [0xF4]  // hlt
        let machine = try tinyMachine(code: code, mode: .long, port: port)
        try Self.installBreakpointIDT(machine.memory)
        #expect(try runToExit(machine) == .halted(vcpu: 0))
        #expect(port.bytes == [0xBB, 0xAA])  // handler ran, then iretq returned past the int3
        if machine.host.completesInstructions {
            #expect(machine.statistics.completedInstructions.load(ordering: .relaxed) >= 1)
        }
    }

    @Test func fnclexAndFwaitWithInterruptsOffClearTheExceptionFlags() throws {
        let port = RecordingPort()
        let code: [UInt8] =
            [0x9B]  // fwait
            + [0xDB, 0xE2]  // fnclex
            + Self.movDXResultPort64
            + [0xB0, 0xCC]  // mov al, 0xCC
            + [0xEE]  // out dx, al
            + [0xF4]  // hlt
        let machine = try tinyMachine(code: code, mode: .long, port: port)
        var fpu = try machine.vcpus[0].fpu()
        fpu.fsw = 0x0004  // ZE (divide by zero) flagged; masked by FCW, so no ES and fwait raises no #MF
        try machine.vcpus[0].setFPU(fpu)
        #expect(try runToExit(machine) == .halted(vcpu: 0))
        #expect(port.bytes == [0xCC])
        #expect(try machine.vcpus[0].fpu().fsw & 0x80FF == 0)
    }

    @Test func jumpingIntoTheDeviceHoleGivesAClearError() throws {
        let code: [UInt8] =
            [0x48, 0xB8, 0x00, 0x00, 0x00, 0xD0, 0x00, 0x00, 0x00, 0x00]  // mov rax, 0xD0000000 (no RAM there)
            + [0xFF, 0xE0]  // jmp rax
        let machine = try tinyMachine(code: code, mode: .long)
        let exit = try runToExit(machine)
        guard case .guestFault(let report) = exit else {
            Issue.record("expected a guest fault, got \(exit)")
            return
        }
        #expect(report.lowercased().contains("d0000000"))
        #expect(exit.exitCode == 2)
    }

    @Test func anInstructionNobodyCompletesGivesARegisterAndByteDump() throws {
        let machine = try tinyMachine(code: [0xCD, 0x80, 0xF4], mode: .long)  // int 0x80 with IF=0, no IDT
        let exit = try runToExit(machine)
        if machine.host.completesInstructions {
            // The software KVM's emulator has no long-mode `int n`: the VMM must stop with a dump.
            guard case .guestFault(let report) = exit else {
                Issue.record("expected a guest fault, got \(exit)")
                return
            }
            #expect(report.lowercased().contains("cd 80"))
            #expect(report.lowercased().contains("rip"))
        } else {
            // Hardware KVM delivers it through the empty IDT: a triple fault, which is a reset.
            #expect(exit == .reset)
        }
    }
}
