import X86Boot

/// Where virtio-pci functions live: bus 0, slot 0 the host bridge, then one slot per device in the
/// guest's order; each function's BAR 0 placed by the VMM (as firmware would) in the root bridge's
/// memory window, naturally aligned, so the guest keeps the assignment.
enum VirtioPCIPlacement {
    static let window = PCIMemoryWindow.standard
    /// Slot 0 is the host bridge; device numbers are 5 bits.
    static let firstSlot = 1
    static let slotCount = 31

    static func slot(ofDevice index: Int) -> Int { firstSlot + index }

    /// BAR 0 of device `index`: consecutive `barLength` blocks from the window's start.
    static func barAddress(ofDevice index: Int, barLength: UInt64) -> UInt64 {
        UInt64(window.start) + UInt64(index) * barLength
    }
}
