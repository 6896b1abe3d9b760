import Foundation
import Testing

@testable import VMM

/// Issue 3's hypothesis, settled in a tiny guest: does the host lose or corrupt SSE stores made in ring 3
/// while interrupts are delivered, their handlers run with IF=0 (on kvm_pvm: through KVM's instruction
/// emulator) and use the FPU (fxsave/fxrstor, movdqu save/restore), rewrite CR3, demand-page the
/// destination, or when the host's emulator itself performs the ring-3 store (the destination page is
/// also a guest page directory, so the shadow MMU write-protects it)? Every stored byte is read back
/// with general-purpose loads; a mismatch names the iteration, the store and what memory held.
@Suite(.enabled(if: kvmTestsEnabled, "SWIFTVIRT_SKIP_KVM=1"), .serialized)
struct SSEStoreTests {
    struct Scenario: Sendable, CustomTestStringConvertible {
        var name: String
        var options: SSEStoreProbe.Options
        var testDescription: String { name }
    }

    static let everyHandlerFlag: SSEStoreProbe.KernelFlags = [.work, .fxsave, .movdquSave, .cr3Switch]
    /// LAPIC timer initial count at divide-by-1: 200 µs, KVM's minimum period.
    static let timer: UInt32 = 200_000

    static let scenarios: [Scenario] = {
        var list: [Scenario] = []
        func add(_ name: String, _ configure: (inout SSEStoreProbe.Options) -> Void) {
            var options = SSEStoreProbe.Options()
            configure(&options)
            list.append(Scenario(name: name, options: options))
        }
        add("control: no interrupts") { $0.iterations = 1_000_000 }
        add("LAPIC timer, handler spins with IF=0") {
            $0.iterations = 2_000_000
            $0.timerCount = timer
            $0.kernel = [.work]
        }
        add("timer and MSIs, handler uses fxsave/fxrstor and movdqu, switches CR3") {
            $0.iterations = 2_000_000
            $0.timerCount = timer
            $0.msiIntervalMicroseconds = 20
            $0.kernel = everyHandlerFlag
        }
        add("demand-paged destination, #PF handler with sti, timer handler uses fxsave") {
            $0.iterations = 200
            $0.timerCount = timer
            $0.user = [.demandPaging]
            $0.kernel = [.pageFaultSTI, .fxsave]
        }
        for page in 0..<4 as Range<UInt64> {
            add("destination page \(page) is also a page directory: the host emulates the ring-3 store") {
                $0.iterations = 2_000
                $0.timerCount = timer
                $0.user = [.pageDirectoryAlias, .keepDestination]
                $0.aliasPage = page
                $0.kernel = everyHandlerFlag
            }
        }
        return list
    }()

    @Test(arguments: scenarios)
    func ring3SSEStoresReadBackExactly(_ scenario: Scenario) throws {
        let options = scenario.options
        let outcome = try SSEStoreProbe.run(options)
        #expect(outcome.mismatch == nil, "\(outcome)")
        #expect(outcome.code == 1, "\(outcome)")
        #expect(outcome.progress == options.iterations - 1)
        if options.timerCount > 0 || options.msiIntervalMicroseconds != nil {
            #expect(outcome.interrupts > 0, "\(outcome)")
        }
        if options.user.contains(.demandPaging) {
            #expect(outcome.pageFaults >= 4 * options.iterations)
        }
        // On the software KVM the aliased page is shadowed as a page table, so the first write to it in
        // each iteration (an SSE store or `rep movsb`) is performed by KVM's instruction emulator. Checking
        // that keeps this test about the emulator's SSE path; hardware KVM (EPT/NPT) never emulates these.
        let host = HostProfile.detect()
        if host.isSoftwareKVM && options.user.contains(.pageDirectoryAlias), let emulated = outcome.stats["pf_emulate"]
        {
            #expect(emulated >= options.iterations, "\(outcome)")
        }
    }

    /// fxsave, clobber, fxrstor at CPL 0 with IF=0 (on kvm_pvm: the emulator's territory): the fxsave
    /// image holds XMM0–3, the clobbering loads took effect, and fxrstor brings the values back.
    @Test func fxsaveAndFxrstorWithInterruptsOffRoundTripXMM() throws {
        var options = SSEStoreProbe.Options()
        options.kernel = [.selfTest]
        let outcome = try SSEStoreProbe.run(options)
        #expect(outcome.code == 0x5E, "\(outcome)")
        let scratch = outcome.fpuScratch
        #expect(Array(scratch[160..<224]) == SSEStoreProbe.selfTestPatterns)  // FXSAVE XMM0–3 at +160
        #expect(Array(scratch[0x500..<0x540]) == SSEStoreProbe.junk)
        #expect(Array(scratch[0x600..<0x640]) == SSEStoreProbe.selfTestPatterns)
    }

    /// xsave, clobber, xrstor at CPL 0 with IF=0 (XCR0 = x87|SSE): on kvm_pvm KVM's emulator gives up on
    /// both and the VMM completes them; the xsave image holds XMM0–3 and says SSE is in use, and xrstor
    /// brings the values back.
    @Test func xsaveAndXrstorWithInterruptsOffRoundTripXMM() throws {
        var options = SSEStoreProbe.Options()
        options.kernel = [.selfTest, .xsave]
        let outcome = try SSEStoreProbe.run(options)
        #expect(outcome.code == 0x5E, "\(outcome)")
        let scratch = outcome.fpuScratch
        #expect(Array(scratch[0x800 + 160..<0x800 + 224]) == SSEStoreProbe.selfTestPatterns)  // XMM0–3
        #expect(scratch[0x800 + 512] & 0b10 != 0)  // XSTATE_BV: SSE in use
        #expect(Array(scratch[0x500..<0x540]) == SSEStoreProbe.junk)
        #expect(Array(scratch[0x600..<0x640]) == SSEStoreProbe.selfTestPatterns)
        if HostProfile.detect().isSoftwareKVM {
            #expect(outcome.completedInstructions >= 2, "\(outcome)")
        }
    }
}
