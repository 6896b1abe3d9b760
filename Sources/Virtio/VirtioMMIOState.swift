/// What only the virtio-mmio transport keeps (virtio 1.2 §4.2.2): InterruptStatus, and the
/// level-triggered line it drives (high while InterruptStatus is not 0).
struct VirtioMMIOState: VirtioTransportSpecificState {
    /// `VirtioMMIORegister.usedBufferInterrupt` | `configChangeInterrupt`.
    private(set) var interruptStatus: UInt32 = 0
    private var line: LatchedInterruptLine

    init(line: @escaping @Sendable (Bool) -> Void) {
        self.line = LatchedInterruptLine(line)
    }

    var interruptLevel: Bool { interruptStatus != 0 }

    mutating func deviceReset() {
        interruptStatus = 0
    }

    /// Sets the cause's bit (one interrupt for all queues); the line follows when the lock is released.
    mutating func raise(_ cause: VirtioInterruptCause) -> Never? {
        switch cause {
        case .usedBuffers: interruptStatus |= VirtioMMIORegister.usedBufferInterrupt
        case .configurationChange: interruptStatus |= VirtioMMIORegister.configChangeInterrupt
        }
        return nil
    }

    /// InterruptACK: clears the bits the driver saw. A cause raised since it read InterruptStatus needs a
    /// fresh edge.
    mutating func acknowledge(_ bits: UInt32) {
        interruptStatus &= ~bits
        if interruptStatus != 0 { line.requestFreshEdge() }
    }

    mutating func settleInterruptLine() {
        line.settle(to: interruptLevel)
    }
}
