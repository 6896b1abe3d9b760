/// The hardware-reduced ACPI sleep and reset registers that the guest's FADT points at
/// (ACPI 6.4 §5.2.9: SLEEP_CONTROL_REG, SLEEP_STATUS_REG, RESET_REG; §4.8 "Sleep Control and Status
/// Registers" and "Reset Register"). Three byte registers at consecutive addresses:
///
/// - offset 0, sleep control: SLP_TYP in bits 2–4, SLP_EN in bit 5. SLP_EN with SLP_TYP 5 (the DSDT's
///   `_S5` value, soft off) calls `onPowerOff()`. Other sleep types (S1–S4) are not offered by the DSDT and
///   are ignored. Reads 0 (SLP_EN is write-only; SLP_TYP is not latched).
/// - offset 1, sleep status: reads 0. WAK_STS (bit 7) never sets because the machine never sleeps; the
///   write-1-to-clear that Linux does before sleeping is accepted and has no effect.
/// - offset 2, reset: writing the FADT's RESET_VALUE (0x01) calls `onReset()`; other values are ignored.
///   Reads 0.
///
/// Linux powers off with `outb(0x34, sleep control)` (acpi_hw_extended_sleep: 5 << 2 | SLP_EN) and reboots
/// with `outb(0x01, reset)` (acpi_reset). The device has no state, so it needs no lock; callbacks run on the
/// calling vCPU thread, once per matching write.
public final class ACPIPowerDevice: BusDevice {
    /// Number of consecutive addresses: sleep control, sleep status, reset.
    public static let rangeLength: UInt64 = 3

    private let onPowerOff: @Sendable () -> Void
    private let onReset: @Sendable () -> Void

    public init(onPowerOff: @escaping @Sendable () -> Void, onReset: @escaping @Sendable () -> Void) {
        self.onPowerOff = onPowerOff
        self.onReset = onReset
    }

    public func read(offset: UInt64, size: Int) -> UInt64 {
        ByteLanes.read(offset: offset, size: size) { offset in
            offset < ACPIPowerDevice.rangeLength ? 0 : 0xFF
        }
    }

    public func write(offset: UInt64, size: Int, value: UInt64) {
        ByteLanes.write(offset: offset, size: size, value: value) { offset, byte in
            switch offset {
            case ACPIPowerRegister.sleepControl:
                let sleepType = (byte & ACPIPowerRegister.sleepTypeMask) >> ACPIPowerRegister.sleepTypeShift
                if byte & ACPIPowerRegister.sleepEnable != 0, sleepType == ACPIPowerRegister.softOffSleepType {
                    onPowerOff()
                }
            case ACPIPowerRegister.reset:
                if byte == ACPIPowerRegister.resetValue { onReset() }
            default:
                break
            }
        }
    }
}
