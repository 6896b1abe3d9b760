import KVM
import Testing

@testable import X86Boot

@Suite struct GDTTests {
    @Test func encodedEntries() {
        // Values as Linux, QEMU and Firecracker write them for flat segments.
        #expect(GDT.entries[0] == 0)
        #expect(GDT.entries[1] == 0x00CF_9B00_0000_FFFF)  // 32-bit code
        #expect(GDT.entries[2] == 0x00AF_9B00_0000_FFFF)  // 64-bit code (__BOOT_CS)
        #expect(GDT.entries[3] == 0x00CF_9300_0000_FFFF)  // data (__BOOT_DS)
        #expect(GDT.entries[4] == 0x0000_8B00_0000_0067)  // busy TSS, base 0, limit 0x67
        #expect(GDT.entries[5] == 0)  // TSS base 63:32
        #expect(GDT.bytes.count == 48)
        #expect(GDT.register == DescriptorTable(base: 0x500, limit: 47))
    }

    @Test func selectorsIndexTheirEntries() {
        #expect(GDT.entries[Int(GDT.code32Selector) / 8] == GDT.code32.encoded)
        #expect(GDT.entries[Int(GDT.code64Selector) / 8] == GDT.code64.encoded)
        #expect(GDT.entries[Int(GDT.dataSelector) / 8] == GDT.data.encoded)
        #expect(GDT.entries[Int(GDT.tssSelector) / 8] == GDT.tss.encoded)
        #expect(GDT.code64Selector == 0x10)
        #expect(GDT.dataSelector == 0x18)
    }

    @Test func segmentsMatchEntries() {
        let code64 = GDT.code64Segment
        #expect(code64.selector == 0x10)
        #expect(code64.base == 0)
        #expect(code64.limit == 0xFFFF_FFFF)
        #expect(code64.type == 0xB)
        #expect(code64.present && code64.s && code64.l && code64.g && !code64.db)
        #expect(code64.dpl == 0)

        let code32 = GDT.code32Segment
        #expect(code32.selector == 0x08)
        #expect(code32.db && !code32.l && code32.g)
        #expect(code32.limit == 0xFFFF_FFFF)

        let data = GDT.dataSegment
        #expect(data.selector == 0x18)
        #expect(data.type == 0x3)
        #expect(data.db && data.g && data.s && !data.l)
        #expect(data.limit == 0xFFFF_FFFF)

        let tss = GDT.tssSegment
        #expect(tss.selector == 0x20)
        #expect(tss.type == 0xB)
        #expect(!tss.s && tss.present && !tss.g)
        #expect(tss.base == 0)
        #expect(tss.limit == 0x67)
    }
}

@Suite struct PageTableTests {
    @Test func identityMapsFirst4GiBWith2MiBPages() {
        let bytes = PageTables.bytes
        #expect(bytes.count == 6 * 4096)
        // PML4[0] → PDPT, nothing else.
        #expect(bytes.load(UInt64.self, at: 0) == 0xA003)
        #expect(bytes.load(UInt64.self, at: 8) == 0)
        // PDPT[0..3] → the four page directories.
        for index in 0..<4 {
            #expect(bytes.load(UInt64.self, at: 4096 + index * 8) == UInt64(0xB000 + index * 0x1000) | 3)
        }
        #expect(bytes.load(UInt64.self, at: 4096 + 4 * 8) == 0)
        // Every PD entry maps its own 2 MiB with P|RW|PS.
        for directory in 0..<4 {
            for entry in [0, 1, 255, 511] {
                let offset = (2 + directory) * 4096 + entry * 8
                let expected = UInt64(directory * 512 + entry) << 21 | 0x83
                #expect(bytes.load(UInt64.self, at: offset) == expected)
            }
        }
        // The last entry maps 4 GiB − 2 MiB.
        #expect(bytes.load(UInt64.self, at: 6 * 4096 - 8) == 0xFFE0_0083)
    }

    @Test func tablesSitWhereTheLayoutSays() {
        #expect(BootLayout.pdpt.rawValue == BootLayout.pml4.rawValue + 0x1000)
        #expect(BootLayout.pageDirectories.rawValue == BootLayout.pml4.rawValue + 0x2000)
        #expect(BootLayout.pml4.rawValue + UInt64(PageTables.bytes.count) <= BootLayout.commandLine.rawValue)
        #expect(BootLayout.bootParams.rawValue + 4096 <= BootLayout.pml4.rawValue)
    }
}
