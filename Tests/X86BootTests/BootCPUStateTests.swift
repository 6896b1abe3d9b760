import GuestMemory
import KVM
import Testing

@testable import X86Boot

@Suite struct BootCPUStateTests {
    /// Special registers as a fresh vCPU reports them, with a recognisable APIC base to check that fields
    /// we do not own are kept.
    var fresh: SpecialRegisters {
        var sregs = SpecialRegisters()
        sregs.apicBase = 0xFEE0_0900
        sregs.cr0 = 0x6000_0010
        return sregs
    }

    @Test func pvhState() {
        let (regs, sregs) = BootCPUState.pvh(entry: 0x100_0040, startInfo: GuestAddress(0x6000), from: fresh)
        #expect(regs.rip == 0x100_0040)
        #expect(regs.rbx == 0x6000)
        #expect(regs.rflags == 0x2)
        #expect(sregs.cr0 == 0x11)  // PE | ET
        #expect(sregs.cr4 == 0)
        #expect(sregs.efer == 0)
        #expect(sregs.cs == GDT.code32Segment)
        #expect(sregs.cs.db && !sregs.cs.l)
        for segment in [sregs.ds, sregs.es, sregs.ss, sregs.fs, sregs.gs] {
            #expect(segment == GDT.dataSegment)
        }
        #expect(sregs.tr.base == 0 && sregs.tr.limit == 0x67)
        #expect(sregs.gdt.base == 0x500)
        #expect(sregs.apicBase == 0xFEE0_0900)
    }

    @Test func linux64State() {
        let (regs, sregs) = BootCPUState.linux64(entry: 0x100_0200, bootParams: GuestAddress(0x7000), from: fresh)
        #expect(regs.rip == 0x100_0200)
        #expect(regs.rsi == 0x7000)
        #expect(regs.rflags == 0x2)
        #expect(sregs.cr0 == 0x8001_0033)  // PE | MP | ET | NE | WP | PG
        #expect(sregs.cr4 == 0x20)  // PAE
        #expect(sregs.efer == 0x500)  // LME | LMA
        #expect(sregs.cr3 == 0x9000)
        #expect(sregs.cs.selector == 0x10 && sregs.cs.l && !sregs.cs.db)
        #expect(sregs.ds.selector == 0x18 && sregs.ss.selector == 0x18 && sregs.es.selector == 0x18)
        #expect(sregs.tr.selector == 0x20)
        #expect(sregs.gdt == DescriptorTable(base: 0x500, limit: 47))
        #expect(sregs.idt == DescriptorTable(base: 0, limit: 0))
        #expect(sregs.apicBase == 0xFEE0_0900)
    }
}
