import GuestMemory

/// Identity page tables for the 64-bit Linux entry (boot.rst "64-bit BOOT PROTOCOL": the kernel, zero
/// page and command line must be identity mapped). One PML4 entry → one PDPT with four entries → four
/// page directories of 512 2 MiB pages = 0..4 GiB (Intel SDM Vol. 3 §4.5, 4-level paging).
enum PageTables {
    /// Present | writable.
    static let presentWritable: UInt64 = 0x3
    /// Present | writable | page size (a 2 MiB page in a PD entry).
    static let largePage: UInt64 = 0x83
    static let pageSize: UInt64 = 0x20_0000
    static let directoryCount = 4
    static let entriesPerTable = 512

    /// PML4, PDPT and the four PDs, contiguous from BootLayout.pml4 (one 4 KiB page each).
    static var bytes: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: (2 + directoryCount) * 4096)
        bytes.put(BootLayout.pdpt.rawValue | presentWritable, at: 0)
        for directory in 0..<directoryCount {
            let directoryAddress = BootLayout.pageDirectories.rawValue + UInt64(directory) * 4096
            bytes.put(directoryAddress | presentWritable, at: 4096 + directory * 8)
            for entry in 0..<entriesPerTable {
                let page = UInt64(directory * entriesPerTable + entry) * pageSize
                bytes.put(page | largePage, at: (2 + directory) * 4096 + entry * 8)
            }
        }
        return bytes
    }
}
