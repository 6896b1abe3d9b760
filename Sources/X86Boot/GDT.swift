import GuestMemory
import KVM

/// The boot GDT: the selectors the PVH and the 64-bit Linux entries expect, and the KVM `Segment`
/// (hidden descriptor cache) that matches each entry, so the registers we hand KVM agree with what the
/// guest would load from the table. Descriptor format: Intel SDM Vol. 3 §3.4.5 (code/data), §7.2.3
/// (64-bit TSS descriptor, 16 bytes).
enum GDT {
    /// 32-bit flat code (the PVH entry runs here).
    static let code32Selector: UInt16 = 0x08
    /// 64-bit code: Linux's __BOOT_CS (arch/x86/include/asm/segment.h).
    static let code64Selector: UInt16 = 0x10
    /// Flat read/write data: Linux's __BOOT_DS.
    static let dataSelector: UInt16 = 0x18
    /// Busy TSS (__BOOT_TSS); KVM requires a usable TR, the guest replaces it before using it.
    static let tssSelector: UInt16 = 0x20

    /// One 8-byte code/data/system descriptor, in its fields.
    struct Descriptor: Equatable {
        var base: UInt32
        /// 20-bit limit, in 4 KiB units when `granularity` is set.
        var limit: UInt32
        /// Access byte: P (7), DPL (6:5), S (4), type (3:0).
        var access: UInt8
        /// Flags nibble: G (3), D/B (2), L (1), AVL (0).
        var flags: UInt8

        /// The descriptor as the CPU reads it from memory.
        var encoded: UInt64 {
            var value = UInt64(limit & 0xFFFF)
            value |= UInt64(base & 0xFF_FFFF) << 16
            value |= UInt64(access) << 40
            value |= UInt64((limit >> 16) & 0xF) << 48
            value |= UInt64(flags & 0xF) << 52
            value |= UInt64(base >> 24) << 56
            return value
        }

        /// The hidden segment state the CPU would hold after loading `selector` from this descriptor.
        func segment(selector: UInt16) -> Segment {
            let granularity = flags & 0x8 != 0
            var segment = Segment(
                base: UInt64(base), limit: granularity ? (limit << 12) | 0xFFF : limit, selector: selector,
                type: access & 0xF, present: access & 0x80 != 0, dpl: (access >> 5) & 3, db: flags & 0x4 != 0,
                s: access & 0x10 != 0, l: flags & 0x2 != 0, g: granularity)
            segment.avl = flags & 0x1 != 0
            return segment
        }
    }

    // Access bytes: present, DPL 0, then S=1 code execute/read accessed (0xB), S=1 data read/write
    // accessed (0x3), or S=0 busy 64-bit TSS (0xB).
    static let code32 = Descriptor(base: 0, limit: 0xFFFFF, access: 0x9B, flags: 0xC)
    static let code64 = Descriptor(base: 0, limit: 0xFFFFF, access: 0x9B, flags: 0xA)
    static let data = Descriptor(base: 0, limit: 0xFFFFF, access: 0x93, flags: 0xC)
    /// A 104-byte (0x67 limit) TSS at 0; the PVH ABI asks for exactly base 0, limit 0x67.
    static let tss = Descriptor(base: 0, limit: 0x67, access: 0x8B, flags: 0x0)

    /// The table: null, code32, code64, data, and the TSS taking two slots (its upper half, base 63:32,
    /// is zero).
    static let entries: [UInt64] = [0, code32.encoded, code64.encoded, data.encoded, tss.encoded, 0]

    static var bytes: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: entries.count * 8)
        for (index, entry) in entries.enumerated() { bytes.put(entry, at: index * 8) }
        return bytes
    }

    /// GDTR value for the table at BootLayout.gdt.
    static var register: DescriptorTable {
        DescriptorTable(base: BootLayout.gdt.rawValue, limit: UInt16(entries.count * 8 - 1))
    }

    static var code32Segment: Segment { code32.segment(selector: code32Selector) }
    static var code64Segment: Segment { code64.segment(selector: code64Selector) }
    static var dataSegment: Segment { data.segment(selector: dataSelector) }
    static var tssSegment: Segment { tss.segment(selector: tssSelector) }
}
