import KVM

/// One interrupt line of the in-kernel irqchip, driven with KVM_IRQ_LINE. Devices report level changes;
/// on an edge-triggered ISA pin the 0→1 change is what delivers the interrupt.
struct InterruptLine: Sendable {
    let vm: VirtualMachine
    let irq: UInt32
    /// False when the machine has no in-kernel irqchip (tiny test guests): the line goes nowhere.
    let enabled: Bool

    func set(_ level: Bool) {
        guard enabled else { return }
        try? vm.setIrqLine(irq, level: level)
    }
}
