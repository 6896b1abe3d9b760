import GuestMemory

/// The fixed guest-physical layout the loader builds before the first instruction runs. Everything the
/// boot protocols need lives below 1 MiB, outside the kernel's way; the kernel goes at 1 MiB or above and
/// the initrd at the top of low RAM.
///
/// ```
/// 0x0000_0500  GDT (6 slots: null, code32, code64, data, 16-byte TSS)
/// 0x0000_5000  setup_data list of the 64-bit boot protocol (the RNG seed)
/// 0x0000_6000  PVH hvm_start_info, then the module list and the memory map
/// 0x0000_7000  boot_params ("zero page", 4 KiB)
/// 0x0000_8FF0  initial stack pointer (grows down into 0x8000)
/// 0x0000_9000  PML4, 0xA000 PDPT, 0xB000–0xEFFF four page directories (identity map 0–4 GiB)
/// 0x0002_0000  kernel command line (64 KiB)
/// 0x0009_FC00  EBDA … 0x0010_0000: reserved in e820 (BIOS area, ACPI tables at 0xE0000)
/// 0x0010_0000+ kernel; initrd at the top of low RAM
/// 0xFEC0_0000  IOAPIC, 0xFEE0_0000 LAPIC (MMIO, in the hole below 4 GiB)
/// ```
public enum BootLayout {
    /// GDT with the selectors in `GDT` (Linux boot protocol "64-bit BOOT PROTOCOL": __BOOT_CS 0x10, __BOOT_DS 0x18).
    public static let gdt = GuestAddress(0x500)
    /// The `struct setup_data` list a bzImage boot passes (one node: the RNG seed), below the PVH block.
    static let setupData = GuestAddress(0x5000)
    /// PVH `struct hvm_start_info` (xen/include/public/arch-x86/hvm/start_info.h).
    public static let pvhStartInfo = GuestAddress(0x6000)
    /// PVH `struct hvm_modlist_entry[]` (one entry: the initrd).
    static let pvhModuleList = GuestAddress(0x6040)
    /// PVH `struct hvm_memmap_table_entry[]`, up to `pvhMemoryMapCapacity` entries before the zero page.
    static let pvhMemoryMap = GuestAddress(0x6080)
    static let pvhMemoryMapCapacity = (0x7000 - 0x6080) / 24
    /// Linux `struct boot_params` (4 KiB).
    public static let bootParams = GuestAddress(0x7000)
    /// Stack pointer handed to the kernel; Linux sets up its own stack almost at once.
    static let bootStack = GuestAddress(0x8FF0)
    /// Page-map level 4 (CR3); the PDPT and the page directories follow, one page each.
    public static let pml4 = GuestAddress(0x9000)
    static let pdpt = GuestAddress(0xA000)
    static let pageDirectories = GuestAddress(0xB000)
    /// Kernel command line, NUL-terminated.
    public static let commandLine = GuestAddress(0x2_0000)
    /// Bytes reserved for the command line including its terminating NUL.
    static let commandLineCapacity = 0x1_0000
    /// Extended BIOS data area: RAM stops here in the e820 map.
    static let ebdaStart: UInt64 = 0x9_FC00
    /// ACPI tables live in the BIOS read-only area so that a legacy RSDP scan of 0xE0000–0xFFFFF finds
    /// them too (ACPI 6.4 §5.2.5.1).
    public static let acpiTablesStart = GuestAddress(0xE_0000)
    public static let acpiTablesEnd: UInt64 = 0x10_0000
    /// Start of "high memory"; the kernel is never loaded below it.
    public static let highMemoryStart: UInt64 = 0x10_0000
    /// Alignment for the initrd (Linux boot protocol: page aligned is customary and sufficient).
    static let initrdAlignment: UInt64 = 0x1000
    static let fourGiB: UInt64 = 0x1_0000_0000
    /// IOAPIC MMIO base (Intel 82093AA default; what Linux expects when the MADT says so).
    public static let ioapicAddress: UInt64 = 0xFEC0_0000
    /// Local APIC MMIO base (Intel SDM Vol. 3 §11.4.1 default IA32_APIC_BASE).
    public static let localAPICAddress: UInt64 = 0xFEE0_0000
    /// xAPIC ids are 8 bits (255 is broadcast) and the IOAPIC takes id = vCPU count.
    public static let maxVCPUCount = 254
}

/// The 32-bit memory window of the PCI root bridge, where the VMM places its functions' BARs: the
/// bottom of the hole below 4 GiB, under the virtio-mmio windows at 0xD000_0000.
public struct PCIMemoryWindow: Sendable, Equatable {
    public let start: UInt32
    public let length: UInt32
    public var last: UInt32 { start + (length - 1) }

    public static let standard = PCIMemoryWindow(start: 0xC000_0000, length: 0x1000_0000)
}

/// I/O ports of the ACPI fixed-hardware PM1 block and reset register that the FADT advertises (ACPI 6.4
/// §4.8.3.1, §4.8.3.2, §4.8.3.6). The Devices module implements them as one range starting at `pm1aEvent`.
public enum ACPIPorts {
    /// PM1a_EVT_BLK: PM1_STS and PM1_EN, 16 bits each.
    public static let pm1aEvent: UInt16 = 0x600
    public static let pm1EventLength: UInt8 = 4
    /// PM1a_CNT_BLK, 16 bits. Linux powers off with SLP_TYP 5 << 10 | SLP_EN (1 << 13) = 0x3400.
    public static let pm1aControl: UInt16 = 0x604
    public static let pm1ControlLength: UInt8 = 2
    /// RESET_REG (8 bit); writing `resetValue` resets the machine.
    public static let reset: UInt16 = 0x606
    public static let resetValue: UInt8 = 0x01
    /// The SLP_TYP value of S5 (soft off) that the DSDT's `_S5` object declares.
    public static let s5SleepType: UInt8 = 5
    /// SCI_INT: the ISA IRQ of the System Control Interrupt (power button events), which the MADT
    /// overrides as level-triggered, active high.
    public static let systemControlInterrupt: UInt8 = 9
}
