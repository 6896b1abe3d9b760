import GuestMemory

/// One BIOS e820 memory-map entry (`struct boot_e820_entry`, asm/bootparam.h). The same three values are
/// what PVH's `hvm_memmap_table_entry` carries, with the same type numbers.
struct E820Entry: Equatable, Sendable {
    /// e820 range types (ACPI 6.4 §15, Table 15.1 "Address Range Types").
    enum Kind: UInt32, Sendable {
        case ram = 1
        case reserved = 2
        case acpi = 3
    }

    var address: UInt64
    var size: UInt64
    var kind: Kind

    init(address: UInt64, size: UInt64, kind: Kind) {
        self.address = address
        self.size = size
        self.kind = kind
    }
}

/// Builds the guest's physical memory map from its RAM regions.
enum E820Map {
    /// Maximum entries in `boot_params.e820_table` (E820_MAX_ENTRIES_ZEROPAGE).
    static let maxEntries = 128

    /// RAM [0, EBDA), reserved [EBDA, 1 MiB) — EBDA, VGA hole, BIOS area and our ACPI tables —, then RAM
    /// [1 MiB, end of region 0) and every further region as RAM (above 4 GiB for large guests).
    static func entries(for memory: GuestMemory) throws -> [E820Entry] {
        let lowEnd = try memory.lowRAMEnd()
        var entries = [
            E820Entry(address: 0, size: BootLayout.ebdaStart, kind: .ram),
            E820Entry(
                address: BootLayout.ebdaStart, size: BootLayout.highMemoryStart - BootLayout.ebdaStart,
                kind: .reserved),
        ]
        if lowEnd > BootLayout.highMemoryStart {
            entries.append(
                E820Entry(
                    address: BootLayout.highMemoryStart, size: lowEnd - BootLayout.highMemoryStart, kind: .ram))
        }
        for region in memory.regions.dropFirst() {
            entries.append(E820Entry(address: region.start.rawValue, size: region.size, kind: .ram))
        }
        guard entries.count <= maxEntries else {
            throw BootError.invalidMemoryLayout(
                "\(memory.regions.count) RAM regions need \(entries.count) e820 entries; at most \(maxEntries) fit")
        }
        return entries
    }
}
