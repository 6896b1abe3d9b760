import Synchronization

/// The ACPI fixed-hardware power registers the guest's FADT points at: a PC-compatible (not
/// hardware-reduced) platform, so Linux keeps the legacy PIC model and routes ISA IRQs 0–15 to the
/// IOAPIC's first pins, which the serial port on IRQ 4 relies on.
///
/// - offsets 0–1, PM1_STS: write-1-to-clear status. PWRBTN_STS (bit 8) is set by
///   `pressPowerButton()`; no other event exists here, so the other bits read 0.
/// - offsets 2–3, PM1_EN: stored and read back; PWRBTN_EN (bit 8) gates the SCI.
/// - offset 4, PM1_CNT low byte: SCI_EN reads 1 (always in ACPI mode, so the FADT has no SMI_CMD).
/// - offset 5, PM1_CNT high byte: SLP_TYP in bits 2–4, SLP_EN in bit 5. SLP_EN with SLP_TYP 5 (the
///   DSDT's `_S5`, soft off) calls `onPowerOff()`; other sleep types are not offered and are ignored.
/// - offset 6, reset register: the FADT's RESET_VALUE (0x01) calls `onReset()`.
///
/// The SCI is a level: asserted while an enabled event's status bit is set (ACPI 6.4 §4.8.3.1), so a
/// guest that clears PWRBTN_STS (ACPICA does, after dispatching the event) drops it. The FADT's
/// flags leave PWR_BUTTON clear, which tells the guest the power button is this fixed-feature one.
///
/// Linux powers off with a 16-bit write of 0x3400 to PM1_CNT (acpi_hw_legacy_sleep: SLP_TYP 5 << 10 |
/// SLP_EN) and reboots with `outb(0x01, reset)` (acpi_reset). Callbacks run on the calling thread.
public final class ACPIPowerDevice: BusDevice {
    /// PM1 event block (4), PM1 control block (2), reset register (1).
    public static let rangeLength: UInt64 = 7

    private struct EventRegisters {
        var status: UInt16 = 0
        var enable: UInt16 = 0
        var interruptRequested: Bool { status & enable != 0 }
    }

    private let onPowerOff: @Sendable () -> Void
    private let onReset: @Sendable () -> Void
    private let systemControlInterrupt: @Sendable (Bool) -> Void
    private let events = Mutex(EventRegisters())

    /// - Parameter systemControlInterrupt: drives the SCI line (the FADT's SCI_INT, level-triggered).
    public init(
        onPowerOff: @escaping @Sendable () -> Void, onReset: @escaping @Sendable () -> Void,
        systemControlInterrupt: @escaping @Sendable (Bool) -> Void = { _ in }
    ) {
        self.onPowerOff = onPowerOff
        self.onReset = onReset
        self.systemControlInterrupt = systemControlInterrupt
    }

    /// Presses (and releases) the power button: PWRBTN_STS is set and, if the guest enabled the
    /// event, the SCI rises. A guest that never enabled it (no ACPI button driver) sees nothing.
    public func pressPowerButton() {
        updateEvents { $0.status |= ACPIPowerRegister.powerButton }
    }

    /// Whether the guest has enabled the power button event (its button driver is bound).
    public var powerButtonEnabled: Bool {
        events.withLock { $0.enable & ACPIPowerRegister.powerButton != 0 }
    }

    public func read(offset: UInt64, size: Int) -> UInt64 {
        let registers = events.withLock { $0 }
        return ByteLanes.read(offset: offset, size: size) { offset in
            switch offset {
            case ACPIPowerRegister.status: return UInt8(truncatingIfNeeded: registers.status)
            case ACPIPowerRegister.status + 1: return UInt8(truncatingIfNeeded: registers.status >> 8)
            case ACPIPowerRegister.enable: return UInt8(truncatingIfNeeded: registers.enable)
            case ACPIPowerRegister.enable + 1: return UInt8(truncatingIfNeeded: registers.enable >> 8)
            case ACPIPowerRegister.controlLow: return ACPIPowerRegister.sciEnable
            case 0..<ACPIPowerDevice.rangeLength: return 0
            default: return 0xFF
            }
        }
    }

    public func write(offset: UInt64, size: Int, value: UInt64) {
        ByteLanes.write(offset: offset, size: size, value: value) { offset, byte in
            switch offset {
            case ACPIPowerRegister.status:
                updateEvents { $0.status &= ~UInt16(byte) }
            case ACPIPowerRegister.status + 1:
                updateEvents { $0.status &= ~(UInt16(byte) << 8) }
            case ACPIPowerRegister.enable:
                updateEvents { $0.enable = ($0.enable & 0xFF00) | UInt16(byte) }
            case ACPIPowerRegister.enable + 1:
                updateEvents { $0.enable = ($0.enable & 0x00FF) | UInt16(byte) << 8 }
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

    /// Applies a change to the event registers and drives the SCI from the result. The line is set
    /// under the lock so two changes racing (a press against a guest's clear) deliver their levels in
    /// the order the registers took them.
    private func updateEvents(_ change: (inout EventRegisters) -> Void) {
        events.withLock { registers in
            change(&registers)
            registers.status &= ACPIPowerRegister.implementedStatus
            systemControlInterrupt(registers.interruptRequested)
        }
    }
}
