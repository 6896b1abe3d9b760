/// Fixed ACPI Description Table, revision 6 (ACPI 6.4 §5.2.9, Table 5.9), for a hardware-reduced
/// platform: no PM1/GPE blocks, power-off through the sleep control register and reset through the
/// reset register, both in I/O space at `ACPIPorts`.
enum FADT {
    static let revision: UInt8 = 6
    /// FADT Minor Version: ACPI 6.4.
    static let minorRevision: UInt8 = 4
    /// Whole table, header included (Table 5.9 ends with the 8-byte hypervisor vendor identity at 268).
    static let length = 276
    /// SCI_INT: the ISA IRQ the MADT overrides as level/active-high.
    static let sciInterrupt: UInt16 = 9

    // Flags (Table 5.10).
    static let resetRegisterSupported: UInt32 = 1 << 10
    static let hardwareReducedACPI: UInt32 = 1 << 20

    static let hypervisorVendor: [UInt8] = Array("SWIFTVRT".utf8)

    // Field offsets from the start of the table (Table 5.9).
    enum Offset {
        static let dsdt = 40
        static let sciInt = 46
        static let flags = 112
        static let resetReg = 116
        static let resetValue = 128
        static let minorVersion = 131
        static let xDsdt = 140
        static let sleepControlReg = 244
        static let sleepStatusReg = 256
        static let hypervisorVendorIdentity = 268
    }

    static func table(dsdt: UInt64) -> [UInt8] {
        var body = [UInt8](repeating: 0, count: length - ACPITableHeader.size)
        func put<T: FixedWidthInteger>(_ value: T, _ offset: Int) { body.put(value, at: offset - ACPITableHeader.size) }
        func put(bytes: [UInt8], _ offset: Int) { body.put(bytes: bytes, at: offset - ACPITableHeader.size) }
        // The 32-bit DSDT field is kept as well: our tables are below 1 MiB and some parsers read it first.
        put(UInt32(truncatingIfNeeded: dsdt), Offset.dsdt)
        put(sciInterrupt, Offset.sciInt)
        put(hardwareReducedACPI | resetRegisterSupported, Offset.flags)
        put(bytes: GenericAddress.ioPort8(ACPIPorts.reset).bytes, Offset.resetReg)
        put(ACPIPorts.resetValue, Offset.resetValue)
        put(minorRevision, Offset.minorVersion)
        put(dsdt, Offset.xDsdt)
        put(bytes: GenericAddress.ioPort8(ACPIPorts.sleepControl).bytes, Offset.sleepControlReg)
        put(bytes: GenericAddress.ioPort8(ACPIPorts.sleepStatus).bytes, Offset.sleepStatusReg)
        put(bytes: hypervisorVendor, Offset.hypervisorVendorIdentity)
        return ACPITableHeader.table(signature: "FACP", revision: revision, oemTableID: "SWVFACP", body: body)
    }
}
