import Synchronization

/// The ACPI fixed-hardware power registers the guest's FADT points at: a PC-compatible (not
/// hardware-reduced) platform, so Linux keeps the legacy PIC model and routes ISA IRQs 0–15 to the
/// IOAPIC's first pins, which the serial port on IRQ 4 relies on.
///
/// - offsets 0–1, PM1_STS: write-1-to-clear status; nothing raises events yet, so it reads 0.
/// - offsets 2–3, PM1_EN: stored and read back.
/// - offset 4, PM1_CNT low byte: SCI_EN reads 1 (always in ACPI mode, so the FADT has no SMI_CMD).
/// - offset 5, PM1_CNT high byte: SLP_TYP in bits 2–4, SLP_EN in bit 5. SLP_EN with SLP_TYP 5 (the
///   DSDT's `_S5`, soft off) calls `onPowerOff()`; other sleep types are not offered and are ignored.
/// - offset 6, reset register: the FADT's RESET_VALUE (0x01) calls `onReset()`.
///
/// Linux powers off with a 16-bit write of 0x3400 to PM1_CNT (acpi_hw_legacy_sleep: SLP_TYP 5 << 10 |
/// SLP_EN) and reboots with `outb(0x01, reset)` (acpi_reset). Callbacks run on the calling vCPU thread.
public final class ACPIPowerDevice: BusDevice {
    /// PM1 event block (4), PM1 control block (2), reset register (1).
    public static let rangeLength: UInt64 = 7

    private let onPowerOff: @Sendable () -> Void
    private let onReset: @Sendable () -> Void
    private let powerManagementEnable = Mutex<UInt16>(0)

    public init(onPowerOff: @escaping @Sendable () -> Void, onReset: @escaping @Sendable () -> Void) {
        self.onPowerOff = onPowerOff
        self.onReset = onReset
    }

    public func read(offset: UInt64, size: Int) -> UInt64 {
        ByteLanes.read(offset: offset, size: size) { offset in
            switch offset {
            case ACPIPowerRegister.enable:
                return UInt8(truncatingIfNeeded: powerManagementEnable.withLock { $0 })
            case ACPIPowerRegister.enable + 1:
                return UInt8(truncatingIfNeeded: powerManagementEnable.withLock { $0 } >> 8)
            case ACPIPowerRegister.controlLow:
                return ACPIPowerRegister.sciEnable
            case 0..<ACPIPowerDevice.rangeLength:
                return 0
            default:
                return 0xFF
            }
        }
    }

    public func write(offset: UInt64, size: Int, value: UInt64) {
        ByteLanes.write(offset: offset, size: size, value: value) { offset, byte in
            switch offset {
            case ACPIPowerRegister.enable:
                powerManagementEnable.withLock { $0 = ($0 & 0xFF00) | UInt16(byte) }
            case ACPIPowerRegister.enable + 1:
                powerManagementEnable.withLock { $0 = ($0 & 0x00FF) | UInt16(byte) << 8 }
            case ACPIPowerRegister.controlHigh:
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
