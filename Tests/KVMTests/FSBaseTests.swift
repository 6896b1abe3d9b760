import Foundation
import Testing

@testable import VMM

/// Issue 3's FS-base hypothesis, tested in a tiny guest (`FSBaseProbe`): with `nofsgsbase`, Linux sets a
/// task's TLS base with `wrmsr FS_BASE` at CPL 0 (after loading FS with the null selector) in
/// __switch_to with IF=0 and in arch_prctl(ARCH_SET_FS). Does ring 3 always see the base ring 0 last
/// wrote — after iretq and sysretq, across timer and MSI interrupts, task switches and the VMM's syscall
/// conversion — and does the VMM read back the same value?
@Suite(.enabled(if: kvmTestsEnabled, "SWIFTVIRT_SKIP_KVM=1"), .serialized)
struct FSBaseTests {
    struct Scenario: Sendable, CustomTestStringConvertible {
        var name: String
        var options: FSBaseProbe.Options
        var testDescription: String { name }
    }

    /// LAPIC timer initial count at divide-by-1: 200 µs, KVM's minimum period.
    static let timer: UInt32 = 200_000

    static let scenarios: [Scenario] = {
        var list: [Scenario] = []
        func add(_ name: String, _ configure: (inout FSBaseProbe.Options) -> Void) {
            var options = FSBaseProbe.Options()
            configure(&options)
            list.append(Scenario(name: name, options: options))
        }
        add("control: one task, no interrupts, no operations") {
            $0.tasks = 1
            $0.limit = 2_000_000
        }
        add("arch_prctl by syscall (sysretq) and ud2 (iretq), no interrupts") {
            $0.tasks = 1
            $0.kernel = [.selectorFirst, .sysretExit]
            $0.operations = [.setFSBySyscall, .setFSByUD2]
            $0.operationInterval = 16
            $0.limit = 100_000
        }
        add("three tasks switched on every timer tick, selector then wrmsr") {
            $0.tasks = 3
            $0.kernel = [.selectorFirst, .switchEveryTick]
            $0.timerCount = timer
            $0.limit = 200_000_000
        }
        add("two tasks switched on every tick, wrmsr only, same-value rewrites") {
            $0.kernel = [.switchEveryTick, .sameValue]
            $0.timerCount = timer
            $0.limit = 100_000_000
        }
        add("timer and MSIs, every operation, sysretq exits, arch_prctl with IF=1") {
            $0.tasks = 3
            $0.kernel = [.selectorFirst, .switchEveryTick, .sti, .sysretExit, .sameValue]
            $0.operations = .all
            $0.operationInterval = 64
            $0.timerCount = 2_000_000
            $0.msiIntervalMicroseconds = 1_000
            $0.limit = 100_000
        }
        add("timer and MSIs, every operation, iretq exits, arch_prctl with IF=1") {
            $0.kernel = [.selectorFirst, .switchEveryTick, .sti]
            $0.operations = .all
            $0.operationInterval = 64
            $0.timerCount = 2_000_000
            $0.msiIntervalMicroseconds = 1_000
            $0.limit = 100_000
        }
        add("dense MSIs, arch_prctl by syscall with IF=1, no switches") {
            $0.tasks = 1
            $0.kernel = [.selectorFirst, .sti, .sysretExit]
            $0.operations = [.setFSBySyscall]
            $0.operationInterval = 16
            // Back-to-back MSIs (interval 0) starve ring 3 on a loaded software-KVM host, so how far it
            // gets in the time budget depends on the scheduler; one every 200 µs keeps the interrupts
            // dense and the run bounded.
            $0.msiIntervalMicroseconds = 200
            $0.limit = 20_000
        }
        add("stores through FS emulated by the host (TLS page shadowed as a page directory), no interrupts") {
            $0.tasks = 1
            $0.operations = [.storeThroughFS]
            $0.aliasTLSPage = true
            $0.operationInterval = 16
            $0.limit = 50_000
        }
        add("stores through FS emulated by the host, timer switches two tasks, MSIs, arch_prctl by syscall") {
            $0.kernel = [.selectorFirst, .switchEveryTick, .sti, .sysretExit]
            $0.operations = [.storeThroughFS, .setFSBySyscall, .yieldByUD2]
            $0.aliasTLSPage = true
            $0.operationInterval = 16
            $0.timerCount = 2_000_000
            $0.msiIntervalMicroseconds = 1_000
            $0.limit = 50_000
        }
        add("demand paging through the VMM's #PF exit, #PF handler with IF=1, timer switches, MSIs, arch_prctl") {
            $0.kernel = [.selectorFirst, .switchEveryTick, .sti, .sysretExit, .pageFaultSTI]
            $0.operations = [.demandPage, .setFSBySyscall, .setFSByUD2]
            $0.operationInterval = 16
            $0.timerCount = 2_000_000
            $0.msiIntervalMicroseconds = 1_000
            $0.limit = 50_000
        }
        add("arch_prctl by syscall, then syscalls that leave FS alone (conversion exits), timer and MSIs") {
            $0.tasks = 1
            $0.kernel = [.selectorFirst, .sti, .sysretExit]
            $0.operations = [.setFSBySyscall, .plainSyscall, .demandPage]
            $0.operationInterval = 16
            $0.timerCount = 2_000_000
            $0.msiIntervalMicroseconds = 1_000
            $0.limit = 50_000
        }
        add("two tasks: yields by ud2, syscalls that leave FS alone, timer switches, MSIs") {
            $0.kernel = [.selectorFirst, .switchEveryTick, .sysretExit]
            $0.operations = [.setFSByUD2, .yieldByUD2, .plainSyscall]
            $0.operationInterval = 16
            $0.timerCount = 2_000_000
            $0.msiIntervalMicroseconds = 1_000
            $0.limit = 50_000
        }
        return list
    }()

    @Test(arguments: scenarios)
    func ring3SeesTheFSBaseRing0LastWrote(_ scenario: Scenario) throws {
        let options = scenario.options
        let outcome = try FSBaseProbe.run(options)
        #expect(outcome.code == 1, "\(outcome)")
        #expect(outcome.checks >= options.limit, "\(outcome)")
        if outcome.code == 1 {
            // The vCPU halted in the report handler with IF=0: the state is quiescent.
            #expect(outcome.guestMSR == outcome.kernelBase, "\(outcome)")
            #expect(outcome.vmmSegmentBase == outcome.kernelBase, "\(outcome)")
            #expect(outcome.vmmMSR == outcome.kernelBase, "\(outcome)")
            // Linux's __switch_to saves the selector; a nonzero one makes it drop the task's FS base.
            #expect(outcome.userSelector == 0, "\(outcome)")
            if options.kernel.contains(.selectorFirst) {
                #expect(outcome.kernelSelector == 0, "\(outcome)")
                #expect(outcome.kernelSelectorIF1 == 0, "\(outcome)")
            }
        }
        if options.timerCount > 0 || options.msiIntervalMicroseconds != nil {
            #expect(outcome.interrupts > 0, "\(outcome)")
        }
        if options.operations.contains(.demandPage) {
            #expect(outcome.pageFaults >= options.limit / options.operationInterval - 1, "\(outcome)")
        }
        if options.kernel.contains(.switchEveryTick) && options.tasks > 1 {
            #expect(outcome.switches > 0, "\(outcome)")
        }
    }

    /// The probe's kernel never loads FS, so FS holds the boot selector 0x18 (kernel data, DPL 0) when
    /// `iretq` enters ring 3. IRET to an outer privilege level nulls FS then (SDM Vol. 2A "IRET": a data
    /// segment register whose DPL < CPL is loaded with the null selector), so every later read of the
    /// selector, in ring 3 or back in ring 0, gives 0. Host fact (kvm_pvm): ring 3 reads 0, but ring 0 —
    /// emulated (IF=0) and native (IF=1) alike — still reads 0x18 after hundreds of timer interrupts taken
    /// in ring 3. FS base is unaffected (the same run's checks pass).
    /// Linux never leaves a DPL-0 selector in FS for user mode, so this does not explain issue 3.
    @Test func iretToRing3NullsAKernelFSSelector() throws {
        var options = FSBaseProbe.Options()
        options.kernel = [.switchEveryTick, .sameValue]
        options.timerCount = Self.timer
        options.limit = 20_000_000
        let outcome = try FSBaseProbe.run(options)
        #expect(outcome.code == 1, "\(outcome)")
        #expect(outcome.switches > 0, "\(outcome)")
        #expect(outcome.userSelector == 0, "\(outcome)")
        withKnownIssue("kvm_pvm: ring 0 still reads the FS selector IRET nulled on the way to ring 3") {
            #expect(outcome.kernelSelector == 0, "\(outcome)")
            #expect(outcome.kernelSelectorIF1 == 0, "\(outcome)")
        } when: {
            HostProfile.detect().isSoftwareKVM
        }
    }

    /// Loading FS with the null selector after `wrmsr FS_BASE` (the reverse of Linux's order) at CPL 0
    /// with IF=0. Whether a null selector load clears the base is model-specific (Linux's
    /// X86_BUG_NULL_SEG: AMD parts without NULL_SEL_CLR_BASE keep it). Host fact (kvm_pvm, AMD EPYC): KVM's
    /// emulator clears it — ring 3's first `mov rax, fs:[0]` faults at linear address 0 and the VMM reads
    /// FS base 0 — so a guest kernel must load the selector first, as Linux does.
    @Test func nullSelectorLoadAfterWrmsrClearsFSBaseInTheEmulator() throws {
        var options = FSBaseProbe.Options()
        options.tasks = 1
        options.kernel = [.selectorAfter]
        options.limit = 64
        options.seconds = 10
        let outcome = try FSBaseProbe.run(options)
        if HostProfile.detect().isSoftwareKVM {
            #expect(outcome.code == 0xEE, "\(outcome)")
            #expect(outcome.faultAddress == 0, "\(outcome)")
            #expect(outcome.faultRIP == SSEStoreProbe.userBase, "\(outcome)")
            #expect(outcome.vmmSegmentBase == 0, "\(outcome)")
            #expect(outcome.vmmMSR == 0, "\(outcome)")
        } else {
            // Kept (code 1) or cleared (a fault at 0): either is a real CPU's behaviour.
            #expect(outcome.code == 1 || (outcome.code == 0xEE && outcome.faultAddress == 0), "\(outcome)")
        }
    }
}
