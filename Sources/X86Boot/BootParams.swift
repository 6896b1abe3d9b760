import GuestMemory

/// The Linux "zero page", `struct boot_params` (arch/x86/include/uapi/asm/bootparam.h), filled as the
/// 64-bit boot protocol asks: a zeroed page, the bzImage's setup header copied in at 0x1F1, then the
/// fields a boot loader writes (boot.rst "Details of Header Fields", zero-page.rst).
struct BootParams {
    /// Field offsets within `struct boot_params`, named after the C fields.
    enum Offset {
        static let acpiRsdpAddr = 0x070
        static let extRamdiskImage = 0x0C0
        static let extRamdiskSize = 0x0C4
        static let extCmdLinePtr = 0x0C8
        static let e820Entries = 0x1E8
        /// `struct setup_header hdr` starts here.
        static let hdr = 0x1F1
        static let typeOfLoader = 0x210
        static let loadflags = 0x211
        static let ramdiskImage = 0x218
        static let ramdiskSize = 0x21C
        static let heapEndPtr = 0x224
        static let cmdLinePtr = 0x228
        /// hdr.setup_data: guest-physical address of the first `struct setup_data` (protocol 2.09+).
        static let setupData = 0x250
        static let e820Table = 0x2D0
    }

    static let size = 4096
    /// `sizeof(struct boot_e820_entry)`: u64 addr, u64 size, u32 type, packed.
    static let e820EntrySize = 20
    /// type_of_loader 0xFF: "undefined" boot loader (boot.rst "type_of_loader").
    static let undefinedLoader: UInt8 = 0xFF
    /// loadflags CAN_USE_HEAP (bit 7): heap_end_ptr is valid.
    static let canUseHeap: UInt8 = 0x80
    /// loadflags LOADED_HIGH (bit 0).
    static let loadedHigh: UInt8 = 0x01
    /// heap_end_ptr: end of the setup heap minus 0x200, the customary full 64 KiB setup segment.
    static let heapEnd: UInt16 = 0xFE00

    var bytes = [UInt8](repeating: 0, count: size)

    /// Starts from the kernel's own setup header (boot.rst: the header at 0x1F1 "should be loaded into
    /// struct boot_params and examined").
    init(setupHeader: ArraySlice<UInt8>) {
        bytes.put(bytes: setupHeader, at: Offset.hdr)
        bytes[Offset.typeOfLoader] = Self.undefinedLoader
        bytes[Offset.loadflags] |= Self.canUseHeap | Self.loadedHigh
        bytes.put(Self.heapEnd, at: Offset.heapEndPtr)
    }

    /// cmd_line_ptr (low 32 bits) and ext_cmd_line_ptr (high 32 bits).
    mutating func setCommandLine(_ address: UInt64) {
        bytes.put(UInt32(truncatingIfNeeded: address), at: Offset.cmdLinePtr)
        bytes.put(UInt32(truncatingIfNeeded: address >> 32), at: Offset.extCmdLinePtr)
    }

    /// ramdisk_image/ramdisk_size and their ext_ high halves.
    mutating func setRamdisk(address: UInt64, size: UInt64) {
        bytes.put(UInt32(truncatingIfNeeded: address), at: Offset.ramdiskImage)
        bytes.put(UInt32(truncatingIfNeeded: address >> 32), at: Offset.extRamdiskImage)
        bytes.put(UInt32(truncatingIfNeeded: size), at: Offset.ramdiskSize)
        bytes.put(UInt32(truncatingIfNeeded: size >> 32), at: Offset.extRamdiskSize)
    }

    /// hdr.setup_data: the first node of the setup_data list (0 for none).
    mutating func setSetupData(_ address: UInt64) {
        bytes.put(address, at: Offset.setupData)
    }

    mutating func setACPIRoot(_ address: UInt64) {
        bytes.put(address, at: Offset.acpiRsdpAddr)
    }

    /// e820_entries and e820_table (E820_MAX_ENTRIES_ZEROPAGE entries at most).
    mutating func setMemoryMap(_ entries: [E820Entry]) throws {
        guard entries.count <= E820Map.maxEntries else {
            throw BootError.invalidMemoryLayout("\(entries.count) e820 entries; at most \(E820Map.maxEntries) fit")
        }
        bytes[Offset.e820Entries] = UInt8(entries.count)
        for (index, entry) in entries.enumerated() {
            let base = Offset.e820Table + index * Self.e820EntrySize
            bytes.put(entry.address, at: base)
            bytes.put(entry.size, at: base + 8)
            bytes.put(entry.kind.rawValue, at: base + 16)
        }
    }
}
