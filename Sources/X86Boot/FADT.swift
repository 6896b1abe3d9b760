import GuestMemory

/// Fixed ACPI Description Table, revision 6 (ACPI 6.4 §5.2.9, Table 5.9), for a PC-compatible platform
/// without SMM: fixed-hardware PM1a event and control blocks and a reset register, all in I/O space at
/// `ACPIPorts`; SMI_CMD is 0, so the platform is always in ACPI mode (SCI_EN reads 1).
///
/// Not hardware-reduced on purpose: in that model Linux drops the legacy PIC and with it the ISA IRQ →
/// IOAPIC pin mapping (arch/x86/kernel/acpi/boot.c, acpi_generic_reduced_hw_init), and the serial port's
/// IRQ 4 would never reach the guest's 8250 driver.
enum FADT {
    static let revision: UInt8 = 6
    /// FADT Minor Version: ACPI 6.4.
    static let minorRevision: UInt8 = 4
    /// Whole table, header included (Table 5.9 ends with the 8-byte hypervisor vendor identity at 268).
    static let length = 276
    /// SCI_INT: the ISA IRQ the MADT overrides as level/active-high.
    static let sciInterrupt = UInt16(ACPIPorts.systemControlInterrupt)
    /// P_LVL2_LAT / P_LVL3_LAT above 100 / 1000 µs: C2 and C3 are not supported.
    static let noC2Latency: UInt16 = 101
    static let noC3Latency: UInt16 = 1001

    // Flags (Table 5.10).
    static let wbinvd: UInt32 = 1 << 0
    static let processorC1: UInt32 = 1 << 2
    /// SLP_BUTTON: there is no sleep button.
    static let noSleepButton: UInt32 = 1 << 5
    static let resetRegisterSupported: UInt32 = 1 << 10
    /// IAPC_BOOT_ARCH (Table 5.11): VGA not present; no 8042 advertised (the guest kernel has no SERIO).
    static let vgaNotPresent: UInt16 = 1 << 2

    static let hypervisorVendor: [UInt8] = Array("SWIFTVRT".utf8)

    // Field offsets from the start of the table (Table 5.9).
    enum Offset {
        static let dsdt = 40
        static let sciInt = 46
        static let pm1aEventBlock = 56
        static let pm1aControlBlock = 64
        static let pm1EventLength = 88
        static let pm1ControlLength = 89
        static let c2Latency = 96
        static let c3Latency = 98
        static let bootArchitecture = 109
        static let flags = 112
        static let resetReg = 116
        static let resetValue = 128
        static let minorVersion = 131
        static let xDsdt = 140
        static let xPM1aEventBlock = 148
        static let xPM1aControlBlock = 172
        static let hypervisorVendorIdentity = 268
    }

    static func table(dsdt: UInt64) -> [UInt8] {
        var body = [UInt8](repeating: 0, count: length - ACPITableHeader.size)
        func put<T: FixedWidthInteger>(_ value: T, _ offset: Int) { body.put(value, at: offset - ACPITableHeader.size) }
        func put(bytes: [UInt8], _ offset: Int) { body.put(bytes: bytes, at: offset - ACPITableHeader.size) }
        // The 32-bit DSDT field is kept as well: our tables are below 1 MiB and some parsers read it first.
        put(UInt32(truncatingIfNeeded: dsdt), Offset.dsdt)
        put(sciInterrupt, Offset.sciInt)
        put(UInt32(ACPIPorts.pm1aEvent), Offset.pm1aEventBlock)
        put(UInt32(ACPIPorts.pm1aControl), Offset.pm1aControlBlock)
        put(ACPIPorts.pm1EventLength, Offset.pm1EventLength)
        put(ACPIPorts.pm1ControlLength, Offset.pm1ControlLength)
        put(noC2Latency, Offset.c2Latency)
        put(noC3Latency, Offset.c3Latency)
        put(vgaNotPresent, Offset.bootArchitecture)
        put(wbinvd | processorC1 | noSleepButton | resetRegisterSupported, Offset.flags)
        put(bytes: GenericAddress.ioPort(ACPIPorts.reset, bits: 8).bytes, Offset.resetReg)
        put(ACPIPorts.resetValue, Offset.resetValue)
        put(minorRevision, Offset.minorVersion)
        put(dsdt, Offset.xDsdt)
        put(bytes: GenericAddress.ioPort(ACPIPorts.pm1aEvent, bits: 32).bytes, Offset.xPM1aEventBlock)
        put(bytes: GenericAddress.ioPort(ACPIPorts.pm1aControl, bits: 16).bytes, Offset.xPM1aControlBlock)
        put(bytes: hypervisorVendor, Offset.hypervisorVendorIdentity)
        return ACPITableHeader.table(signature: "FACP", revision: revision, oemTableID: "SWVFACP", body: body)
    }
}
