import GuestMemory
import KVM

/// Translates a linear address through the guest's IA-32e page tables (4-level, or 5-level with
/// CR4.LA57), the way the CPU checks an access (SDM Vol. 3A §4.5, §4.6): the physical address, and the
/// writable and user bits ANDed over every level. KVM_TRANSLATE cannot be used for permissions: on x86 it
/// reports every present page as writable.
public enum PageTableWalk {
    /// Bits 51:12 of a paging-structure entry: the next table or the page frame.
    static let frameMask: UInt64 = 0x000F_FFFF_FFFF_F000
    static let present: UInt64 = 1 << 0
    static let writable: UInt64 = 1 << 1
    static let user: UInt64 = 1 << 2
    static let largePage: UInt64 = 1 << 7

    /// The walk's result; `valid` false when some level is not present or a table lies outside RAM.
    /// `writeable` and `usermode` are the raw ANDed R/W and U/S bits (CR0.WP is the caller's business).
    public static func translate(_ linearAddress: UInt64, cr3: UInt64, fiveLevel: Bool, memory: GuestMemory)
        -> Translation
    {
        let notPresent = Translation(physicalAddress: 0, valid: false, writeable: false, usermode: false)
        guard isCanonical(linearAddress, fiveLevel: fiveLevel) else { return notPresent }
        var table = cr3 & frameMask
        var writable = true
        var user = true
        // Index shifts from the top level down: PML5, PML4, PDPT, PD, PT.
        let shifts: [UInt64] = fiveLevel ? [48, 39, 30, 21, 12] : [39, 30, 21, 12]
        for shift in shifts {
            let index = (linearAddress >> shift) & 0x1FF
            guard let entry = try? memory.load(UInt64.self, at: GuestAddress(table + index * 8)),
                entry & present != 0
            else { return notPresent }
            writable = writable && entry & Self.writable != 0
            user = user && entry & Self.user != 0
            // A 1 GiB page at the PDPT level or a 2 MiB page at the PD level ends the walk.
            if shift == 12 || ((shift == 30 || shift == 21) && entry & largePage != 0) {
                let pageMask: UInt64 = (1 << shift) - 1
                let frame = entry & frameMask & ~pageMask
                return Translation(
                    physicalAddress: frame | (linearAddress & pageMask), valid: true, writeable: writable,
                    usermode: user)
            }
            table = entry & frameMask
        }
        return notPresent
    }

    /// Bits 63:47 (63:56 with five levels) all equal (SDM Vol. 1 §3.3.7.1).
    public static func isCanonical(_ address: UInt64, fiveLevel: Bool) -> Bool {
        let bits: UInt64 = fiveLevel ? 57 : 48
        let top = Int64(bitPattern: address) >> (bits - 1)
        return top == 0 || top == -1
    }
}
