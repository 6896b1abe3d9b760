import GuestMemory
import KVM
import Testing

@testable import X86Emulation

/// IA-32e page tables built in guest RAM: 4 KiB, 2 MiB and 1 GiB pages, permission bits ANDed over the
/// levels, absent entries, tables outside RAM, non-canonical addresses, five-level paging.
@Suite struct PageTableWalkTests {
    let memory: GuestMemory
    static let pml4: UInt64 = 0x1000
    static let pdpt: UInt64 = 0x2000
    static let pd: UInt64 = 0x3000
    static let pt: UInt64 = 0x4000
    static let present: UInt64 = 1, writable: UInt64 = 2, user: UInt64 = 4, large: UInt64 = 0x80

    init() throws {
        memory = try makeMemory()
        // PML4[0] → PDPT (RW, U); PDPT[0] → PD (RW, U); PDPT[1]: a 1 GiB page at 0x4000_0000 (RW, U).
        try memory.store(Self.pdpt | 0x7, at: GuestAddress(Self.pml4))
        try memory.store(Self.pd | 0x7, at: GuestAddress(Self.pdpt))
        try memory.store(0x4000_0000 | Self.large | 0x7, at: GuestAddress(Self.pdpt + 8))
        // PD[0] → PT; PD[1]: a read-only supervisor 2 MiB page at 0x20_0000; PD[2] → a table outside RAM.
        try memory.store(Self.pt | 0x7, at: GuestAddress(Self.pd))
        try memory.store(0x20_0000 | Self.large | Self.present, at: GuestAddress(Self.pd + 8))
        try memory.store(0x7000_0000 | 0x7, at: GuestAddress(Self.pd + 16))
        // PT[5]: 0x5000 → 0x9000 RW user; PT[6]: 0x6000 → 0xA000 read-only user; PT[7] absent.
        try memory.store(0x9000 | 0x7, at: GuestAddress(Self.pt + 5 * 8))
        try memory.store(0xA000 | Self.present | Self.user, at: GuestAddress(Self.pt + 6 * 8))
    }

    func walk(_ address: UInt64, fiveLevel: Bool = false, cr3: UInt64 = pml4) -> Translation {
        PageTableWalk.translate(address, cr3: cr3, fiveLevel: fiveLevel, memory: memory)
    }

    @Test func fourKilobytePages() {
        #expect(walk(0x5123) == Translation(physicalAddress: 0x9123, valid: true, writeable: true, usermode: true))
        #expect(walk(0x6FFF) == Translation(physicalAddress: 0xAFFF, valid: true, writeable: false, usermode: true))
        #expect(!walk(0x7000).valid)
    }

    @Test func largePagesEndTheWalkAndKeepTheOffset() {
        #expect(
            walk(0x21_2345) == Translation(physicalAddress: 0x21_2345, valid: true, writeable: false, usermode: false))
        #expect(
            walk(0x7654_3210)
                == Translation(physicalAddress: 0x7654_3210, valid: true, writeable: true, usermode: true))
    }

    @Test func permissionsAreTheANDOfEveryLevel() throws {
        try memory.store(Self.pd | Self.present | Self.user, at: GuestAddress(Self.pdpt))  // PDPT[0] read-only
        #expect(walk(0x5000).writeable == false)
        try memory.store(Self.pd | Self.present | Self.writable, at: GuestAddress(Self.pdpt))  // supervisor
        #expect(walk(0x5000).usermode == false)
        #expect(walk(0x5000).writeable == true)
    }

    @Test func tablesOutsideRAMAndNonCanonicalAddressesAreInvalid() {
        #expect(!walk(0x40_0000).valid)  // PD[2] points at a table past the end of RAM
        #expect(!walk(0x0000_8000_0000_5000).valid)
        #expect(!walk(0x5000, cr3: 0xFFFF_F000).valid)  // CR3 itself outside RAM
        #expect(PageTableWalk.isCanonical(0xFFFF_8000_0000_0000, fiveLevel: false))
        #expect(!PageTableWalk.isCanonical(0x0000_8000_0000_0000, fiveLevel: false))
        #expect(PageTableWalk.isCanonical(0x0000_8000_0000_0000, fiveLevel: true))
        #expect(!PageTableWalk.isCanonical(0x0100_0000_0000_0000, fiveLevel: true))
    }

    @Test func fiveLevelPagingAddsAPML5() throws {
        let pml5: UInt64 = 0x8000
        try memory.store(Self.pml4 | 0x7, at: GuestAddress(pml5))
        #expect(walk(0x5123, fiveLevel: true, cr3: pml5).physicalAddress == 0x9123)
        #expect(!walk(0x0001_0000_0000_5000, fiveLevel: true, cr3: pml5).valid)  // PML5[1]: absent
    }
}
