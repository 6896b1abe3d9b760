/// Differentiated System Description Table (ACPI 6.4 §5.2.11.1): the `\_S5` object, so that Linux can
/// power off through the FADT sleep control register (ACPI 6.4 §7.4.2 "\_Sx (System States)"), and,
/// when the machine has PCI devices, the PCI root bridge `\_SB.PCI0`.
enum DSDT {
    /// DSDT revision 2: AML integers are 64-bit.
    static let revision: UInt8 = 2

    /// `Name (_S5, Package (4) { 5, 0, 0, 0 })`, hand-assembled (ACPI 6.4 §20.2.5 "Term Objects Encoding"):
    /// NameOp, NameSeg "_S5_", PackageOp, PkgLength (one byte: counts itself, NumElements and the
    /// elements), NumElements, BytePrefix 5 (SLP_TYPa), ZeroOp ×3 (SLP_TYPb and reserved).
    static let s5Object: [UInt8] = [
        0x08,  // NameOp
        0x5F, 0x53, 0x35, 0x5F,  // "_S5_"
        0x12,  // PackageOp
        0x07,  // PkgLength: 1 (itself) + 1 (NumElements) + 2 (BytePrefix 5) + 3 (ZeroOps)
        0x04,  // NumElements
        0x0A, ACPIPorts.s5SleepType,  // BytePrefix 5
        0x00, 0x00, 0x00,  // ZeroOp ×3
    ]

    /// `Device (\_SB.PCI0)`: a PCI (not PCIe: no ECAM, so no _OSC) root bridge for bus 0, reached
    /// through configuration mechanism #1, with the bus number, I/O and memory ranges it passes to
    /// its children in `_CRS` (PCI Firmware 3.2 §4.1; Linux's acpi_pci_root_add scans bus 0 from it).
    /// There is no `_PRT`: the functions interrupt through MSI-X, not INTx.
    static func pciRootBridge(memoryWindow: PCIMemoryWindow) -> [UInt8] {
        let resources =
            ACPIResource.wordAddress(.busNumber, typeFlags: 0, minimum: 0, maximum: 0)
            + ACPIResource.ioPorts(base: 0xCF8, length: 8)
            // I/O ranges on both sides of the configuration ports (type flags: ISA and non-ISA ranges).
            + ACPIResource.wordAddress(.io, typeFlags: 0x03, minimum: 0x0000, maximum: 0x0CF7)
            + ACPIResource.wordAddress(.io, typeFlags: 0x03, minimum: 0x0D00, maximum: 0xFFFF)
            + ACPIResource.dwordMemory(minimum: memoryWindow.start, maximum: memoryWindow.last)
            + ACPIResource.endTag
        let body =
            AML.name("_HID", AML.eisaID("PNP0A03")) + AML.name("_UID", AML.integer(0))
            + AML.name("_SEG", AML.integer(0)) + AML.name("_BBN", AML.integer(0))
            + AML.name("_CRS", AML.buffer(resources))
        return AML.rootScope("_SB_", AML.device("PCI0", body))
    }

    static func table(pciMemoryWindow: PCIMemoryWindow? = nil) -> [UInt8] {
        let body = s5Object + (pciMemoryWindow.map(pciRootBridge(memoryWindow:)) ?? [])
        return ACPITableHeader.table(signature: "DSDT", revision: revision, oemTableID: "SWVDSDT", body: body)
    }
}
