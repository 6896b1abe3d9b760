import GuestMemory

/// Multiple APIC Description Table (ACPI 6.4 §5.2.12): the local APIC of every vCPU, one IOAPIC, and the
/// two interrupt source overrides a PC-compatible KVM irqchip needs.
enum MADT {
    /// MADT revision 5 (ACPI 6.4).
    static let revision: UInt8 = 5

    // Interrupt controller structure types and lengths (Table 5.21 and the sections after it).
    static let processorLocalAPIC: UInt8 = 0
    static let processorLocalAPICLength: UInt8 = 8
    static let ioAPIC: UInt8 = 1
    static let ioAPICLength: UInt8 = 12
    static let interruptSourceOverride: UInt8 = 2
    static let interruptSourceOverrideLength: UInt8 = 10

    /// Local APIC flags bit 0: Enabled (Table 5.23).
    static let enabled: UInt32 = 1
    /// MPS INTI flags (Table 5.26): polarity 01 active high, trigger mode 11 level.
    static let activeHighLevel: UInt16 = 0x000D
    /// Conforms to the bus (ISA: edge, active high).
    static let conforming: UInt16 = 0

    /// The IOAPIC's id: after the vCPUs' APIC ids 0…n−1.
    static func ioapicID(vcpuCount: Int) -> UInt8 { UInt8(truncatingIfNeeded: vcpuCount) }

    /// The table for `vcpuCount` vCPUs (1…BootLayout.maxVCPUCount, checked by the caller); APIC id and
    /// ACPI processor UID equal the vCPU index.
    static func table(vcpuCount: Int) -> [UInt8] {
        var body = [UInt8](repeating: 0, count: 8)
        body.put(UInt32(BootLayout.localAPICAddress), at: 0)
        // Flags: PCAT_COMPAT. KVM's irqchip has the dual 8259s; Linux masks them and, crucially, keeps the
        // ISA IRQ 0–15 → IOAPIC pin mapping that legacy devices (the UART on IRQ 4) rely on.
        body.put(UInt32(1), at: 4)
        for index in 0..<vcpuCount {
            var entry = [UInt8](repeating: 0, count: Int(processorLocalAPICLength))
            entry[0] = processorLocalAPIC
            entry[1] = processorLocalAPICLength
            entry[2] = UInt8(truncatingIfNeeded: index)  // ACPI Processor UID
            entry[3] = UInt8(truncatingIfNeeded: index)  // APIC ID
            entry.put(enabled, at: 4)
            body += entry
        }
        var ioapic = [UInt8](repeating: 0, count: Int(ioAPICLength))
        ioapic[0] = ioAPIC
        ioapic[1] = ioAPICLength
        ioapic[2] = ioapicID(vcpuCount: vcpuCount)
        ioapic.put(UInt32(BootLayout.ioapicAddress), at: 4)
        ioapic.put(UInt32(0), at: 8)  // Global System Interrupt Base
        body += ioapic
        // The PIT's IRQ 0 is wired to IOAPIC pin 2 (as on PCs and in KVM's default routing).
        body += overrideEntry(irq: 0, gsi: 2, flags: conforming)
        // The SCI is level-triggered, active high (ACPI 6.4 §5.2.9 SCI_INT; Linux acpi_sci_ioapic_setup).
        body += overrideEntry(irq: UInt8(FADT.sciInterrupt), gsi: UInt32(FADT.sciInterrupt), flags: activeHighLevel)
        return ACPITableHeader.table(signature: "APIC", revision: revision, oemTableID: "SWVMADT", body: body)
    }

    /// Interrupt Source Override (Table 5.25): ISA bus 0, `irq` → `gsi`.
    static func overrideEntry(irq: UInt8, gsi: UInt32, flags: UInt16) -> [UInt8] {
        var entry = [UInt8](repeating: 0, count: Int(interruptSourceOverrideLength))
        entry[0] = interruptSourceOverride
        entry[1] = interruptSourceOverrideLength
        entry[2] = 0  // Bus: ISA
        entry[3] = irq
        entry.put(gsi, at: 4)
        entry.put(flags, at: 8)
        return entry
    }
}
