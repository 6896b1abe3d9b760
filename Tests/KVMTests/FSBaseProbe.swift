import Foundation
import GuestMemory
import KVM
import Synchronization

@testable import VMM

#if canImport(Glibc)
    import Glibc
#endif

/// A tiny guest that mimics how Linux booted with `nofsgsbase` gives each task its FS base: ring-3 tasks
/// read their TLS marker through `%fs:0` in a tight loop, while ring 0 switches tasks on LAPIC timer / MSI
/// interrupts (load_seg_legacy: null selector into FS, then `wrmsr FS_BASE`, with IF=0) and serves
/// arch_prctl(ARCH_SET_FS)-like requests by `syscall` (on kvm_pvm through the VMM's syscall conversion,
/// exiting with sysretq or iretq, optionally with IF=1 around the update) or `ud2` (iretq). The layout
/// (page tables, GDT, TSS, IDT offsets, LAPIC) is `SSEStoreProbe`'s.
struct FSBaseProbe {
    static let kernelData: UInt64 = SSEStoreProbe.kernelData
    static let tasksBase: UInt64 = 0x1_C000
    static let taskSize: UInt64 = 0x100
    static let reportBase: UInt64 = 0x1_A100
    static let checksCounter: UInt64 = 0x20_1F00
    /// Task t's two TLS pages: tlsBase + t * 0x2000 + {0, 0x1000}; each holds `marker(base)` at offset 0.
    static let tlsBase: UInt64 = 0x21_0000
    static let markerKey: UInt64 = 0x5A5A_0000_0000_0000

    static func marker(_ base: UInt64) -> UInt64 { base ^ markerKey }

    struct KernelFlags: OptionSet, Sendable {
        let rawValue: UInt64
        /// Load FS with the null selector before `wrmsr FS_BASE` (Linux: loadsegment(fs, 0) first).
        static let selectorFirst = KernelFlags(rawValue: 1 << 0)
        /// Every interrupt rewrites the current task's FS base with the value it already has.
        static let sameValue = KernelFlags(rawValue: 1 << 1)
        /// Every interrupt taken in ring 3 switches to the next task.
        static let switchEveryTick = KernelFlags(rawValue: 1 << 2)
        /// The syscall's FS base update runs with IF=1 (`sti` after entry, `cli` before the exit), as
        /// Linux's arch_prctl does.
        static let sti = KernelFlags(rawValue: 1 << 3)
        /// Syscalls return with sysretq (otherwise iretq).
        static let sysretExit = KernelFlags(rawValue: 1 << 4)
        /// Load FS with the null selector after the `wrmsr` (not what Linux does; the result is model-specific).
        static let selectorAfter = KernelFlags(rawValue: 1 << 5)
        /// The #PF handler maps the page with IF=1, as Linux handles user faults.
        static let pageFaultSTI = KernelFlags(rawValue: 1 << 6)
    }

    struct Operations: OptionSet, Sendable {
        let rawValue: UInt64
        static let setFSBySyscall = Operations(rawValue: 1 << 0)
        static let setFSByUD2 = Operations(rawValue: 1 << 1)
        static let yieldBySyscall = Operations(rawValue: 1 << 2)
        static let yieldByUD2 = Operations(rawValue: 1 << 3)
        /// Read through 0x60000000 (so the host keeps task 0's first TLS page shadowed as a page directory,
        /// with `aliasTLSPage`), store through FS, read the value back through the linear address and FS.
        static let storeThroughFS = Operations(rawValue: 1 << 4)
        /// Load from 0x300000, not present: the #PF handler (on kvm_pvm through the VMM's exit at the patched
        /// `cld`) maps it; check fs:[0]; `ud2` unmaps it again.
        static let demandPage = Operations(rawValue: 1 << 5)
        /// A syscall (rax 3) the kernel answers without touching FS: on kvm_pvm its conversion exit
        /// swaps the GS bases with KVM_SET_MSRS while FS holds a base set by an earlier syscall.
        static let plainSyscall = Operations(rawValue: 1 << 6)
        static let all: Operations = [.setFSBySyscall, .setFSByUD2, .yieldBySyscall, .yieldByUD2]
    }

    struct Options: Sendable {
        var kernel: KernelFlags = [.selectorFirst]
        var operations: Operations = []
        var tasks: UInt64 = 2
        /// LAPIC timer initial count (periodic, divide by 1); 0 = no timer.
        var timerCount: UInt32 = 0
        /// The test thread sends an MSI (vector 0x30) every this many microseconds; nil = never.
        var msiIntervalMicroseconds: UInt32?
        /// Checks per task before it reports done.
        var limit: UInt64 = 1_000_000
        /// The operations run whenever a task's check count is a multiple of this power of two.
        var operationInterval: UInt64 = 1024
        /// Task 0's first TLS page is also the page directory for 1–2 GiB (PDPT entry 1) whose entry 256
        /// (0x60000000) maps the user page table: on the software KVM's shadow MMU it stays write-protected,
        /// so KVM's instruction emulator performs every ring-3 store to it, including those through FS.
        var aliasTLSPage = false
        var seconds: Double = 60
    }

    struct Outcome: Sendable, CustomStringConvertible {
        /// 1 = a task finished its checks, 2 = mismatch, 0xDD/0xEE = unexpected exception, nil = time up.
        var code: UInt8?
        var exit: MachineExit
        var checks: UInt64
        var interrupts: UInt64
        var switches: UInt64
        var syscalls: UInt64
        var fsWrites: UInt64
        var pageFaults: UInt64
        var convertedSyscalls: UInt64
        var completedInstructions: UInt64
        var seconds: Double
        /// At the report: task (rbx), where (r8: 0 loop, 1–4 after an operation), expected (r12), found
        /// (rdx), the base the task believes it has (rbp), the ud2's RIP.
        var task: UInt64 = 0
        var location: UInt64 = 0
        var expected: UInt64 = 0
        var found: UInt64 = 0
        var believedBase: UInt64 = 0
        var reportRIP: UInt64 = 0
        /// FS_BASE as rdmsr read it in the report handler, and the FS selector there.
        var guestMSR: UInt64 = 0
        var guestSelector: UInt64 = 0
        /// The FS selector at the end as ring 3 read it, and ring 0 with IF=0 and with IF=1 (Linux's
        /// savesegment in __switch_to: a nonzero selector makes it forget the task's FS base).
        var userSelector: UInt64 = 0
        var kernelSelector: UInt64 = 0
        var kernelSelectorIF1: UInt64 = 0
        /// With code 0xEE: the unexpected page fault's CR2 and RIP.
        var faultAddress: UInt64 = 0
        var faultRIP: UInt64 = 0
        /// The current task's base as ring 0 last set it.
        var kernelBase: UInt64 = 0
        /// The VMM's view after the run: KVM_GET_SREGS fs.base and KVM_GET_MSRS FS_BASE.
        var vmmSegmentBase: UInt64?
        var vmmMSR: UInt64?
        /// KVM statistics deltas over the run (VM and vCPU).
        var stats: [String: UInt64] = [:]

        var description: String {
            func h(_ v: UInt64?) -> String { v.map { "0x" + String($0, radix: 16) } ?? "nil" }
            var text =
                "code \(code.map { String($0, radix: 16) } ?? "none") exit \(exit) checks \(checks) irqs \(interrupts) switches \(switches) syscalls \(syscalls) converted \(convertedSyscalls) fs-writes \(fsWrites) page-faults \(pageFaults) completed \(completedInstructions) in \(String(format: "%.1f", seconds)) s; kernel base \(h(kernelBase)) vmm sregs \(h(vmmSegmentBase)) msr \(h(vmmMSR))"
            if code == 2 {
                text +=
                    "\n  MISMATCH task \(task) at \(location): expected \(h(expected)) found \(h(found)) base \(h(believedBase)) rip \(h(reportRIP)) rdmsr \(h(guestMSR)) fs \(h(guestSelector))"
            }
            if code == 1 {
                text +=
                    "\n  FS selector: ring 3 \(h(userSelector)), ring 0 IF=0 \(h(kernelSelector)), IF=1 \(h(kernelSelectorIF1))"
            }
            text +=
                "\n  stats " + stats.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            if code == 0xEE { text += "\n  PAGE FAULT at \(h(faultAddress)) rip \(h(faultRIP))" }
            return text
        }
    }

    static func run(_ options: Options) throws -> Outcome {
        let port = RecordingPort()
        let machine = try tinyMachine(
            code: kernelImage, at: SSEStoreProbe.kernelBase, mode: .long, irqchip: true, port: port)
        let memory = machine.memory
        try SSEStoreProbe.writeTables(memory, options: SSEStoreProbe.Options())
        try memory.write(userLoop, at: GuestAddress(SSEStoreProbe.userBase))
        try SSEStoreProbe.prepareVCPU(machine)
        try memory.store(options.kernel.rawValue, at: GuestAddress(kernelData))
        try memory.store(UInt64(options.timerCount), at: GuestAddress(kernelData + 0x08))
        try memory.store(options.tasks, at: GuestAddress(kernelData + 0x28))
        let zeroed = [
            checksCounter, SSEStoreProbe.userData + 0xF20, kernelData + 0x30, kernelData + 0x38,
            SSEStoreProbe.userPageTable + 0x100 * 8,
        ]
        for counter in zeroed {
            try memory.store(UInt64(0), at: GuestAddress(counter))
        }
        for task in 0..<options.tasks {
            let base = tlsBase + task * 0x2000
            for page in [base, base + 0x1000] { try memory.store(marker(page), at: GuestAddress(page)) }
            let record = tasksBase + task * taskSize
            try memory.store(base, at: GuestAddress(record))
            // r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax; rip, cs, rflags, rsp, ss
            let frame: [UInt64] = [
                options.limit, options.operations.rawValue, 0, marker(base), 0, options.operationInterval - 1, 0, 0,
                base, 0, 0, 0, 0, task, 0,
                SSEStoreProbe.userBase, 0x3B, 0x202, 0x20_1800 - task * 0x100, 0x33,
            ]
            for (index, value) in frame.enumerated() {
                try memory.store(value, at: GuestAddress(record + 8 + UInt64(index) * 8))
            }
        }

        if options.aliasTLSPage {
            try memory.store(tlsBase | 7, at: GuestAddress(SSEStoreProbe.pdpt + 8))
            try memory.store(SSEStoreProbe.userPageTable | 7, at: GuestAddress(tlsBase + 0x800))
        }

        let (exit, elapsed, delta) = try SSEStoreProbe.runUntilReport(
            machine, port: port, seconds: options.seconds, msiIntervalMicroseconds: options.msiIntervalMicroseconds,
            counters: [
                "insn_emulation", "insn_emulation_fail", "pf_emulate", "mmu_pte_write", "irq_injections", "exits",
            ])
        func load(_ address: UInt64) throws -> UInt64 { try memory.load(UInt64.self, at: GuestAddress(address)) }
        func k(_ offset: UInt64) throws -> UInt64 { try load(kernelData + offset) }
        func saved(_ slot: UInt64) throws -> UInt64 { try load(reportBase + slot * 8) }
        let current = try k(0x20)
        var outcome = Outcome(
            code: port.bytes.first, exit: exit, checks: try load(checksCounter),
            interrupts: try k(0x10), switches: try k(0x18), syscalls: try k(0x30), fsWrites: try k(0x48),
            pageFaults: try k(0x50),
            convertedSyscalls: machine.statistics.convertedSyscalls.load(ordering: .relaxed),
            completedInstructions: machine.statistics.completedInstructions.load(ordering: .relaxed),
            seconds: elapsed)
        outcome.stats = delta
        outcome.faultAddress = try k(0xE0)
        outcome.faultRIP = try k(0xE8)
        outcome.kernelBase = try load(tasksBase + (current % max(options.tasks, 1)) * taskSize)
        if let code = outcome.code, code == 1 || code == 2 {
            outcome.task = try saved(13)
            outcome.location = try saved(7)
            outcome.expected = try saved(3)
            outcome.found = try saved(11)
            outcome.believedBase = try saved(8)
            outcome.reportRIP = try saved(15)
            outcome.guestMSR = try k(0xF0)
            outcome.guestSelector = try k(0xF8)
            outcome.userSelector = try load(SSEStoreProbe.userData + 0xF20)
            outcome.kernelSelector = try k(0x58)
            outcome.kernelSelectorIF1 = try k(0x60)
        }
        let vcpu = machine.vcpus[0]
        outcome.vmmSegmentBase = try? vcpu.specialRegisters().fs.base
        outcome.vmmMSR = (try? vcpu.msrs([X86.MSR.fsBase]))?[X86.MSR.fsBase]
        return outcome
    }
}
