/// Where virtio-mmio devices live: 4 KiB windows in the MMIO hole below 4 GiB, each with its own ISA
/// interrupt (edge-triggered IOAPIC pins 0–15 are mapped 1:1 by the PC-compatible ACPI tables; the
/// transport drives its line level-style, so every new interrupt after an ack is a fresh edge), announced
/// to the guest on the kernel command line (`virtio_mmio.device=4K@0xd0000000:5`, virtio 1.2 §4.2.2 and
/// Linux's CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES).
enum VirtioMMIOLayout {
    static let base: UInt64 = 0xD000_0000
    static let windowSize: UInt64 = 0x1000
    /// ISA IRQs no other device uses. Avoided: 0 timer, 1 keyboard, 2 cascade, 4 serial, 8 RTC, 9 ACPI
    /// SCI, 13 FPU. 12 (PS/2 mouse: the i8042 here has no aux port) and 3 (COM2: no second UART) come
    /// last. IRQs above 15 would need ACPI device nodes: Linux maps only ISA IRQs without them.
    static let interrupts: [UInt32] = [5, 6, 7, 10, 11, 14, 15, 12, 3]
    static var slotCount: Int { interrupts.count }

    static func address(slot: Int) -> UInt64 { base + UInt64(slot) * windowSize }

    static func commandLineArgument(slot: Int) -> String {
        "virtio_mmio.device=4K@0x\(String(address(slot: slot), radix: 16)):\(interrupts[slot])"
    }
}
