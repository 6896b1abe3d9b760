import Foundation
import GuestMemory
import KVM
import Synchronization

@testable import VMM

#if canImport(Glibc)
    import Glibc
#endif

/// A tiny guest that checks SSE stores made in ring 3 while interrupts are delivered: user mode loads
/// XMM0–XMM3 with per-iteration patterns, waits, stores them with movups/movdqu/movaps/movdqa (aligned,
/// unaligned, across page boundaries) and `rep movsb`, and reads everything back with general-purpose
/// loads. A ring-0 kernel takes LAPIC timer and MSI interrupts, optionally using the FPU in its handler,
/// rewriting CR3, or demand-paging the destination.
struct SSEStoreProbe {
    // Guest-physical (= kernel-virtual) layout.
    static let kernelBase: UInt64 = 0x1_0000
    static let idtBase: UInt64 = 0x1_1000
    static let gdtBase: UInt64 = 0x1_2000
    static let tssBase: UInt64 = 0x1_3000
    static let pml4A: UInt64 = 0x1_4000
    static let pdpt: UInt64 = 0x1_5000
    static let pageDirectory: UInt64 = 0x1_6000
    static let userPageTable: UInt64 = 0x1_7000
    static let apicPageDirectory: UInt64 = 0x1_8000
    static let pml4B: UInt64 = 0x1_9000
    static let kernelData: UInt64 = 0x1_A000
    static let fpuScratch: UInt64 = 0x1_B000
    static let kernelStackTop: UInt64 = 0x2_0000
    static let frameBase: UInt64 = 0x10_0000
    // User-virtual (identity-mapped) layout.
    static let userBase: UInt64 = 0x20_0000
    static let userData: UInt64 = 0x20_1000
    static let destination: UInt64 = 0x20_2000

    /// Kernel handler entry points (offsets in the kernel image).
    enum Entry {
        static let interrupt: UInt64 = 0x200
        static let invalidOpcode: UInt64 = 0x400
        static let pageFault: UInt64 = 0x500
        static let other: UInt64 = 0x600
        static let spurious: UInt64 = 0x6F0
    }

    /// What the ring-0 side does (FLAGS at kernelData).
    struct KernelFlags: OptionSet, Sendable {
        let rawValue: UInt64
        /// Spin 32 iterations in the interrupt handler (run by the host's emulator: IF=0).
        static let work = KernelFlags(rawValue: 1 << 0)
        /// fxsave, clobber XMM0–3, fxrstor in the interrupt handler (kernel_fpu_begin/end).
        static let fxsave = KernelFlags(rawValue: 1 << 1)
        /// Save XMM0–3 with movdqu, clobber them, restore with movdqu in the interrupt handler.
        static let movdquSave = KernelFlags(rawValue: 1 << 2)
        /// Switch CR3 between two identical PML4s in the interrupt handler.
        static let cr3Switch = KernelFlags(rawValue: 1 << 3)
        /// The #PF handler re-enables interrupts after reading CR2, as Linux's does for user faults.
        static let pageFaultSTI = KernelFlags(rawValue: 1 << 4)
        /// xsave, clobber, xrstor (XCR0 = x87|SSE, CR4.OSXSAVE) in the interrupt handler / self-test.
        static let xsave = KernelFlags(rawValue: 1 << 5)
        /// Run the ring-0 FPU save/restore self-test with IF=0 instead of the user loop.
        static let selfTest = KernelFlags(rawValue: 1 << 7)
    }

    struct UserFlags: OptionSet, Sendable {
        let rawValue: UInt64
        /// Destination pages start not present; the #PF handler maps fresh frames (filled with zeros);
        /// each iteration ends with a `ud2` "syscall" that unmaps them again.
        static let demandPaging = UserFlags(rawValue: 1 << 0)
        /// The first destination page is also a page table (PD entry for 0x400000), read through
        /// each iteration so the host shadows it and write-protects the frame the stores go to.
        static let pageTableAlias = UserFlags(rawValue: 1 << 1)
        /// The first destination page is also a page directory (PDPT entry 1, 1 GiB), read through at
        /// 0x60000000 each iteration: a non-leaf table the host can never leave writable (no unsync).
        static let pageDirectoryAlias = UserFlags(rawValue: 1 << 2)
        /// Skip the GPR poisoning of the destination, so the first write to an aliased page is an SSE store.
        static let keepDestination = UserFlags(rawValue: 1 << 3)
    }

    struct Options: Sendable {
        var kernel: KernelFlags = []
        var user: UserFlags = []
        /// LAPIC timer initial count (periodic, divide by 1); 0 = no timer.
        var timerCount: UInt32 = 0
        /// The test thread sends an MSI (vector 0x30) every this many microseconds; nil = never.
        var msiIntervalMicroseconds: UInt32?
        var iterations: UInt64 = 10_000
        /// Spin iterations between loading the XMM registers and storing them.
        var delay: UInt32 = 64
        var seconds: Double = 60
        /// Which destination page (0–3) `pageDirectoryAlias` turns into a page directory.
        var aliasPage: UInt64 = 0
    }

    struct Mismatch: Sendable, CustomStringConvertible {
        var iteration: UInt64
        var store: UInt64
        var expected: [UInt8]
        var found: [UInt8]
        var registers: [UInt8]
        var description: String {
            func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }
            return
                "iteration \(iteration) store \(store): expected \(hex(expected)) found \(hex(found)) xmm0-3 now \(hex(registers))"
        }
    }

    struct Outcome: Sendable, CustomStringConvertible {
        /// 1 = all iterations passed, 2 = mismatch, 0xDD = unexpected exception, 0x5E = self-test done, nil = timeout.
        var code: UInt8?
        var exit: MachineExit
        var progress: UInt64
        var interrupts: UInt64
        var pageFaults: UInt64
        var unmaps: UInt64
        var cr3Writes: UInt64
        var mismatch: Mismatch?
        var badFrame: [UInt64]
        var seconds: Double
        var stats: [String: UInt64]
        var completedInstructions: Int
        /// Guest-physical 0x1B000–0x1BA3F after the run: fxsave image, clobber values, self-test results, and
        /// the xsave image at +0x800.
        var fpuScratch: [UInt8]
        var description: String {
            var text =
                "code \(code.map { String($0, radix: 16) } ?? "none") exit \(exit) progress \(progress) irqs \(interrupts) pf \(pageFaults) unmaps \(unmaps) cr3 \(cr3Writes) completed \(completedInstructions) in \(String(format: "%.1f", seconds)) s"
            if let mismatch { text += "\n  MISMATCH \(mismatch)" }
            if code == 0xDD { text += "\n  bad frame \(badFrame.map { String($0, radix: 16) })" }
            text +=
                "\n  stats \(stats.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))"
            return text
        }
    }

    /// The four 16-byte patterns iteration `i` stores (as the user code computes them).
    static func pattern(_ k: Int, iteration: UInt64) -> [UInt8] {
        let constants: [(UInt64, UInt64)] = [
            (0x1111_1111_1111_1111, 0x2222_2222_2222_2222), (0x3333_3333_3333_3333, 0x4444_4444_4444_4444),
            (0x5555_5555_5555_5555, 0x6666_6666_6666_6666), (0x7777_7777_7777_7777, 0x0888_8888_8888_8888),
        ]
        let (low, high) = constants[k]
        return bytes(low ^ iteration) + bytes(high ^ iteration)
    }

    static func bytes(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    /// (store index) → (offset in the destination, pattern index, length)
    static let stores: [(offset: UInt64, pattern: Int)] = [
        (0x000, 0), (0x013, 1), (0x040, 2), (0x050, 3), (0xFF8, 3), (0x1FF3, 1), (0x2FE0, 0), (0x2FF0, 1),
        (0x3000, 2), (0x3010, 3),
    ]

    static func gate(_ handler: UInt64) -> [UInt8] { SyscallRoundTripTests.gate(handler) }

    static func run(_ options: Options) throws -> Outcome {
        try run(kernel: kernelImage, user: userLoop, options: options)
    }

    static func run(kernel: [UInt8], user: [UInt8], options: Options) throws -> Outcome {
        let port = RecordingPort()
        let machine = try tinyMachine(code: kernel, at: kernelBase, mode: .long, irqchip: true, port: port)
        let memory = machine.memory
        try writeTables(memory, options: options)
        try memory.write(user, at: GuestAddress(userBase))
        try prepareVCPU(machine)

        let counters = [
            "insn_emulation", "insn_emulation_fail", "pf_emulate", "mmu_pte_write", "mmu_flooded", "irq_injections",
            "exits", "fpu_reload", "pf_guest", "mmu_unsync", "mmu_shadow_zapped", "irq_window_exits",
            "request_irq_exits", "halt_exits",
        ]
        let (exit, elapsed, delta) = try runUntilReport(
            machine, port: port, seconds: options.seconds, msiIntervalMicroseconds: options.msiIntervalMicroseconds,
            counters: counters)

        let data = kernelData
        func k(_ offset: UInt64) throws -> UInt64 { try memory.load(UInt64.self, at: GuestAddress(data + offset)) }
        let code = port.bytes.first
        var mismatch: Mismatch?
        if code == 2 {
            let iteration = try k(0x48)
            let store = try k(0x50)
            let (offset, patternIndex) = stores[Int(store)]
            mismatch = Mismatch(
                iteration: iteration, store: store, expected: pattern(patternIndex, iteration: iteration),
                found: try memory.read(at: GuestAddress(destination + offset), length: 16),
                registers: try memory.read(at: GuestAddress(userData + 0x100), length: 64))
            if options.user.contains(.demandPaging) {
                mismatch?.found = []  // the page is wherever the PTE points now
            }
        }
        return Outcome(
            code: code, exit: exit, progress: try memory.load(UInt64.self, at: GuestAddress(userData + 0xF08)),
            interrupts: try k(0x10), pageFaults: try k(0x18), unmaps: try k(0x20), cr3Writes: try k(0x28),
            mismatch: mismatch, badFrame: try (0..<4).map { try k(0xC0 + 8 * $0) } + [try k(0x20 + 0x40)],
            seconds: elapsed, stats: delta,
            completedInstructions: Int(machine.statistics.completedInstructions.load(ordering: .relaxed)),
            fpuScratch: try memory.read(at: GuestAddress(fpuScratch), length: 0xA40))
    }

    static func writeTables(_ memory: GuestMemory, options: Options) throws {
        for vector in 0..<256 {
            let entry: UInt64
            switch vector {
            case 6: entry = Entry.invalidOpcode
            case 14: entry = Entry.pageFault
            case 0x20, 0x30: entry = Entry.interrupt
            case 0xFF: entry = Entry.spurious
            default: entry = Entry.other
            }
            try memory.write(gate(kernelBase + entry), at: GuestAddress(idtBase + UInt64(vector) * 16))
        }
        let gdt: [UInt64] = [
            0, 0x00CF_9A00_0000_FFFF, 0x00AF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF,
            0x0000_8901_3000_0067, 0,  // TSS at 0x13000
            0x00CF_F200_0000_FFFF,  // 0x30 user data
            0x00AF_FA00_0000_FFFF,  // 0x38 user code
        ]
        for (index, entry) in gdt.enumerated() {
            try memory.store(entry, at: GuestAddress(gdtBase + UInt64(index) * 8))
        }
        try memory.store(kernelStackTop, at: GuestAddress(tssBase + 4))
        try memory.store(UInt16(104), at: GuestAddress(tssBase + 102))

        for pml4 in [pml4A, pml4B] { try memory.store(pdpt | 7, at: GuestAddress(pml4)) }
        try memory.store(pageDirectory | 7, at: GuestAddress(pdpt))
        try memory.store(apicPageDirectory | 3, at: GuestAddress(pdpt + 3 * 8))
        try memory.store(UInt64(0x83), at: GuestAddress(pageDirectory))  // 0–2 MiB: kernel, supervisor
        try memory.store(userPageTable | 7, at: GuestAddress(pageDirectory + 8))
        try memory.store(UInt64(0xFEE0_0000 | 0x93), at: GuestAddress(apicPageDirectory + 0x1F7 * 8))
        for index in 0..<512 as Range<UInt64> {
            let demand = options.user.contains(.demandPaging) && (2...5).contains(index)
            try memory.store(demand ? 0 : (userBase + index * 0x1000) | 7, at: GuestAddress(userPageTable + index * 8))
        }
        if options.user.contains(.pageTableAlias) {
            // PD entry 2 (0x400000) uses the first destination page as its page table; its entry 256
            // (0x500000) maps the user data page, which user mode reads each iteration.
            try memory.store(destination | 7, at: GuestAddress(pageDirectory + 2 * 8))
            try memory.store(userData | 5, at: GuestAddress(destination + 0x800))
        }
        if options.user.contains(.pageDirectoryAlias) {
            // PDPT entry 1 (1 GiB) uses the first destination page as its page directory; its entry 256
            // (0x60000000) points at the user page table, so 0x60000000 reads the user code page.
            let alias = destination + options.aliasPage * 0x1000
            try memory.store(alias | 7, at: GuestAddress(pdpt + 8))
            try memory.store(userPageTable | 7, at: GuestAddress(alias + 0x800))
        }

        try memory.store(options.kernel.rawValue, at: GuestAddress(kernelData))
        try memory.store(UInt64(options.timerCount), at: GuestAddress(kernelData + 0x08))
        try memory.store(frameBase, at: GuestAddress(kernelData + 0x30))
        try memory.store(UInt64(0), at: GuestAddress(kernelData + 0x38))  // fill: zeros, as Linux's clear_page
        try memory.write(junk, at: GuestAddress(fpuScratch + 0x200))
        try memory.write(selfTestPatterns, at: GuestAddress(fpuScratch + 0x400))

        try memory.store(options.iterations, at: GuestAddress(userData + 0xF00))
        try memory.store(options.user.rawValue, at: GuestAddress(userData + 0xF10))
        try memory.store(UInt64(max(1, options.delay)), at: GuestAddress(userData + 0xF18))
    }

    static let selfTestPatterns: [UInt8] = (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
    static let junk: [UInt8] = (0..<64).map { UInt8(0xA0 &+ $0) }

    /// Starts `machine`, sends an MSI (vector 0x30) every `msiIntervalMicroseconds` if asked, and waits
    /// until the guest writes its report port, the machine exits or `seconds` pass; then stops it. Returns
    /// how it ended, how long it ran and how much each of KVM's `counters` (VM and vCPU 0 statistics) grew.
    static func runUntilReport(
        _ machine: Machine, port: RecordingPort, seconds: Double, msiIntervalMicroseconds: UInt32?,
        counters: [String]
    ) throws -> (exit: MachineExit, elapsed: Double, delta: [String: UInt64]) {
        let vmStats = KVMStatistics(fd: machine.vm.fd)
        let vcpuStats = KVMStatistics(fd: machine.vcpus[0].fd)
        let before = vmStats.read().merging(vcpuStats.read()) { a, _ in a }
        let started = Date()
        try machine.start()
        let done = Atomic<Bool>(false)
        if let interval = msiIntervalMicroseconds {
            let vm = machine.vm
            Thread {
                while !done.load(ordering: .relaxed) {
                    _ = try? vm.signalMSI(address: 0xFEE0_0000, data: 0x30)
                    if interval > 0 { usleep(interval) }
                }
            }.start()
        }
        let exited = Atomic<Bool>(false)
        let exitBox = Mutex<MachineExit?>(nil)
        Thread {
            let exit = machine.waitForExit()
            exitBox.withLock { $0 = exit }
            exited.store(true, ordering: .relaxed)
        }.start()
        let deadline = started.addingTimeInterval(seconds)
        while port.bytes.isEmpty && !exited.load(ordering: .relaxed) && Date() < deadline { usleep(2_000) }
        done.store(true, ordering: .relaxed)
        let elapsed = Date().timeIntervalSince(started)
        machine.stop()
        while !exited.load(ordering: .relaxed) { usleep(1_000) }
        let after = vmStats.read().merging(vcpuStats.read()) { a, _ in a }
        var delta: [String: UInt64] = [:]
        for name in counters {
            if let b = before[name], let a = after[name] { delta[name] = a &- b }
        }
        return (exitBox.withLock { $0 } ?? .stopped, elapsed, delta)
    }

    static func prepareVCPU(_ machine: Machine) throws {
        let vcpu = machine.vcpus[0]
        var special = try vcpu.specialRegisters()
        special.cr3 = pml4A
        special.cr4 |= X86.Control.cr4OSFXSR | (1 << 10)  // OSFXSR, OSXMMEXCPT
        special.gdt = DescriptorTable(base: gdtBase, limit: 8 * 8 - 1)
        special.idt = DescriptorTable(base: idtBase, limit: 256 * 16 - 1)
        special.tr = Segment(base: tssBase, limit: 0x67, selector: 0x20, type: 0xB, s: false)
        try vcpu.setSpecialRegisters(special)
        var registers = try vcpu.registers()
        registers.rsp = kernelStackTop
        try vcpu.setRegisters(registers)
    }
}

/// KVM's binary statistics (KVM_GET_STATS_FD) of a VM or vCPU fd: cumulative counters by name.
final class KVMStatistics {
    let statsFD: Int32

    init(fd: Int32) {
        statsFD = ioctl(fd, 0xAECE)  // KVM_GET_STATS_FD = _IO(KVMIO, 0xce)
    }

    deinit { if statsFD >= 0 { close(statsFD) } }

    func read() -> [String: UInt64] {
        guard statsFD >= 0 else { return [:] }
        var header = [UInt32](repeating: 0, count: 6)
        guard pread(statsFD, &header, 24, 0) == 24 else { return [:] }
        let nameSize = Int(header[1])
        let count = Int(header[2])
        let descriptorSize = 16 + nameSize
        var descriptors = [UInt8](repeating: 0, count: count * descriptorSize)
        guard pread(statsFD, &descriptors, descriptors.count, off_t(header[4])) == descriptors.count else { return [:] }
        var result: [String: UInt64] = [:]
        for index in 0..<count {
            let base = index * descriptorSize
            let offset =
                Int(descriptors[base + 8]) | Int(descriptors[base + 9]) << 8 | Int(descriptors[base + 10]) << 16
                | Int(descriptors[base + 11]) << 24
            let nameBytes = descriptors[(base + 16)..<(base + 16 + nameSize)].prefix { $0 != 0 }
            let name = String(decoding: nameBytes, as: UTF8.self)
            var value: UInt64 = 0
            _ = pread(statsFD, &value, 8, off_t(Int(header[5]) + offset))
            result[name] = value
        }
        return result
    }
}
