/// Offsets and bit fields of the fixed-hardware ACPI PM1 block and reset register (ACPI 6.4 §4.8.3),
/// laid out as one I/O range: PM1a_EVT_BLK (4 bytes), PM1a_CNT_BLK (2 bytes), RESET_REG (1 byte).
enum ACPIPowerRegister {
    /// PM1_STS, 16 bits, write-1-to-clear (§4.8.3.1.1).
    static let status: UInt64 = 0
    /// PM1_EN, 16 bits (§4.8.3.1.2).
    static let enable: UInt64 = 2
    /// PM1_CNT low byte: SCI_EN in bit 0 (§4.8.3.2.1).
    static let controlLow: UInt64 = 4
    /// PM1_CNT high byte: SLP_TYP in bits 10–12 and SLP_EN in bit 13 of the 16-bit register.
    static let controlHigh: UInt64 = 5
    /// RESET_REG: the FADT's RESET_VALUE written here resets the machine (§4.8.3.6).
    static let reset: UInt64 = 6

    /// PWRBTN_STS / PWRBTN_EN: bit 8 of PM1_STS and of PM1_EN (Table 4.13 and 4.14).
    static let powerButton: UInt16 = 1 << 8
    /// Bits of PM1_STS that are status bits of events this platform raises (only the power button);
    /// the rest read 0 and ignore writes.
    static let implementedStatus: UInt16 = powerButton

    /// SCI_EN: the platform is in ACPI mode. Always set: there is no legacy (SMM) mode to leave.
    static let sciEnable: UInt8 = 0x01
    /// SLP_EN (bit 13), as seen in the high byte.
    static let sleepEnable: UInt8 = 0x20
    /// SLP_TYP (bits 10–12), as seen in the high byte.
    static let sleepTypeMask: UInt8 = 0x1C
    static let sleepTypeShift: UInt8 = 2
    /// SLP_TYP of S5 (soft off), as the DSDT's `_S5` package declares it.
    static let softOffSleepType: UInt8 = 5
    /// The value the FADT's RESET_VALUE names.
    static let resetValue: UInt8 = 0x01
}
