import GuestMemory

/// The PVH boot ABI's start-of-day structures (Xen public/arch-x86/hvm/start_info.h), version 1:
/// `hvm_start_info`, one `hvm_modlist_entry` per module (the first module is the initrd, Linux
/// arch/x86/platform/pvh/enlighten.c) and the `hvm_memmap_table_entry` memory map.
struct PVHStartInfo {
    /// XEN_HVM_START_MAGIC_VALUE ("xEn3" with the 0x80 bit of "E" set).
    static let magic: UInt32 = 0x336E_C578
    static let version: UInt32 = 1

    /// Field offsets of `struct hvm_start_info` (56 bytes).
    enum Offset {
        static let magic = 0
        static let version = 4
        static let flags = 8
        static let nrModules = 12
        static let modlistPaddr = 16
        static let cmdlinePaddr = 24
        static let rsdpPaddr = 32
        static let memmapPaddr = 40
        static let memmapEntries = 48
        static let reserved = 52
    }

    static let size = 56
    /// `sizeof(struct hvm_modlist_entry)`: paddr, size, cmdline_paddr, reserved (u64 each).
    static let moduleEntrySize = 32
    /// `sizeof(struct hvm_memmap_table_entry)`: addr, size (u64), type, reserved (u32).
    static let memoryMapEntrySize = 24

    var commandLine: UInt64
    var rsdp: UInt64
    var initrd: (address: UInt64, size: UInt64)?
    var memoryMap: [E820Entry]

    /// `hvm_start_info` pointing at `moduleList` and `memoryMapAddress`.
    func startInfoBytes(moduleList: UInt64, memoryMapAddress: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.size)
        bytes.put(Self.magic, at: Offset.magic)
        bytes.put(Self.version, at: Offset.version)
        bytes.put(UInt32(0), at: Offset.flags)
        bytes.put(UInt32(initrd == nil ? 0 : 1), at: Offset.nrModules)
        bytes.put(initrd == nil ? 0 : moduleList, at: Offset.modlistPaddr)
        bytes.put(commandLine, at: Offset.cmdlinePaddr)
        bytes.put(rsdp, at: Offset.rsdpPaddr)
        bytes.put(memoryMapAddress, at: Offset.memmapPaddr)
        bytes.put(UInt32(truncatingIfNeeded: memoryMap.count), at: Offset.memmapEntries)
        return bytes
    }

    /// The module list: the initrd, without a module command line.
    func moduleListBytes() -> [UInt8] {
        guard let initrd else { return [] }
        var bytes = [UInt8](repeating: 0, count: Self.moduleEntrySize)
        bytes.put(initrd.address, at: 0)
        bytes.put(initrd.size, at: 8)
        return bytes
    }

    /// The memory map, with the same type numbers as e820 (XEN_HVM_MEMMAP_TYPE_RAM = 1, …).
    func memoryMapBytes() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: memoryMap.count * Self.memoryMapEntrySize)
        for (index, entry) in memoryMap.enumerated() {
            let base = index * Self.memoryMapEntrySize
            bytes.put(entry.address, at: base)
            bytes.put(entry.size, at: base + 8)
            bytes.put(entry.kind.rawValue, at: base + 16)
        }
        return bytes
    }
}
