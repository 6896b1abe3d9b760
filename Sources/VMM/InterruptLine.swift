import KVM

/// One interrupt line of the in-kernel irqchip. Devices report level changes.
///
/// - `level` lines follow the device with KVM_IRQ_LINE (the UART: level semantics matter to it).
/// - `pulse` lines signal an irqfd on each 0→1 change, which KVM turns into a 1-then-0 pulse on the
///   GSI: on an edge-triggered ISA pin that is the same interrupt, without an ioctl from the device's
///   thread. Virtio transports use these: every new interrupt after the driver's ack is a fresh 0→1.
struct InterruptLine: Sendable {
    enum Kind: Sendable {
        case level(VirtualMachine, irq: UInt32)
        case pulse(EventNotifier)
        /// No in-kernel irqchip (tiny test guests): the line goes nowhere.
        case disconnected
    }

    let kind: Kind

    init(vm: VirtualMachine, irq: UInt32, enabled: Bool) {
        kind = enabled ? .level(vm, irq: irq) : .disconnected
    }

    /// A pulse line through KVM_IRQFD, or a level line when KVM refuses the irqfd.
    static func pulsed(vm: VirtualMachine, irq: UInt32, enabled: Bool) -> InterruptLine {
        guard enabled else { return InterruptLine(kind: .disconnected) }
        guard let notifier = try? EventNotifier(), (try? vm.attachInterruptEvent(notifier, gsi: irq)) != nil else {
            return InterruptLine(vm: vm, irq: irq, enabled: true)
        }
        return InterruptLine(kind: .pulse(notifier))
    }

    private init(kind: Kind) {
        self.kind = kind
    }

    func set(_ level: Bool) {
        switch kind {
        case .level(let vm, let irq): try? vm.setIrqLine(irq, level: level)
        case .pulse(let notifier): if level { notifier.signal() }
        case .disconnected: break
        }
    }
}
