/// Offsets and bits of a type 0 PCI configuration header (PCI Local Bus 3.0 §6.1–6.2; linux/pci_regs.h).
public enum PCIConfigRegister {
    /// Conventional PCI configuration space; offsets above it (PCIe extended space) read 0.
    public static let spaceSize = 256
    public static let vendorID = 0x00
    public static let deviceID = 0x02
    /// Command (16 bits) and Status (16 bits) share a dword.
    public static let command = 0x04
    public static let revisionID = 0x08
    /// Programming interface 0x09, subclass 0x0A, base class 0x0B.
    public static let classCode = 0x09
    public static let headerType = 0x0E
    /// BAR 0 and BAR 1 together hold BAR 0's 64-bit address.
    public static let bar0 = 0x10
    public static let bar1 = 0x14
    public static let subsystemVendorID = 0x2C
    public static let subsystemID = 0x2E
    public static let capabilitiesPointer = 0x34
    /// Interrupt Line (written by software), Interrupt Pin, Min_Gnt, Max_Lat.
    public static let interruptLine = 0x3C
    public static let interruptPin = 0x3D

    /// PCI_COMMAND_MEMORY: the function answers accesses to its memory BARs.
    public static let commandMemorySpace: UInt16 = 1 << 1
    /// PCI_COMMAND_MASTER: the function may issue memory requests (DMA, MSI).
    public static let commandBusMaster: UInt16 = 1 << 2
    /// PCI_COMMAND_INTX_DISABLE: the function must not assert INTx#.
    public static let commandInterruptDisable: UInt16 = 1 << 10
    /// PCI_STATUS_INTERRUPT: an INTx interrupt is pending (whether or not it is disabled).
    public static let statusInterrupt: UInt16 = 1 << 3
    /// PCI_STATUS_CAP_LIST: the capabilities pointer is valid.
    public static let statusCapabilitiesList: UInt16 = 1 << 4
    /// PCI_BASE_ADDRESS_MEM_TYPE_64: a 64-bit, non-prefetchable memory BAR (bits 2:1 = 10b).
    public static let barMemory64: UInt32 = 0x4
    /// PCI_CAP_ID_VNDR: a vendor-specific capability (virtio's structures, §4.1.4).
    public static let capabilityVendorSpecific: UInt8 = 0x09
    /// PCI_CAP_ID_MSIX.
    public static let capabilityMSIX: UInt8 = 0x11
    /// INTA#.
    public static let interruptPinA: UInt8 = 1
}
