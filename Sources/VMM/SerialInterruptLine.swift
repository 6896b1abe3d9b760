import KVM

/// Drives the serial port's ISA interrupt on the in-kernel irqchip. The UART reports level changes;
/// ISA IRQs are edge-triggered on the IOAPIC, so the 0→1 change is what delivers the interrupt.
struct SerialInterruptLine: Sendable {
    let vm: VirtualMachine
    let irq: UInt32
    let enabled: Bool

    func set(_ level: Bool) {
        guard enabled else { return }
        try? vm.setIrqLine(irq, level: level)
    }
}
