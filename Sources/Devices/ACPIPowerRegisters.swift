/// Offsets and bit fields of the hardware-reduced sleep and reset registers.
enum ACPIPowerRegister {
    /// Sleep control register: SLP_TYP and SLP_EN.
    static let sleepControl: UInt64 = 0
    /// Sleep status register: WAK_STS in bit 7.
    static let sleepStatus: UInt64 = 1
    /// Reset register: the FADT's RESET_VALUE written here resets the machine.
    static let reset: UInt64 = 2
    /// SLP_EN: start the transition to the sleep state in SLP_TYP.
    static let sleepEnable: UInt8 = 0x20
    /// SLP_TYP: the sleep type, from the DSDT's `_Sx` package.
    static let sleepTypeMask: UInt8 = 0x1C
    /// SLP_TYP starts at bit 2.
    static let sleepTypeShift: UInt8 = 2
    /// SLP_TYP of S5 (soft off), as the DSDT's `_S5` package declares it.
    static let softOffSleepType: UInt8 = 5
    /// The value the FADT's RESET_VALUE names.
    static let resetValue: UInt8 = 0x01
}
