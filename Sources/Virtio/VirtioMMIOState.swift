/// What only the virtio-mmio transport keeps (virtio 1.2 §4.2.2): InterruptStatus, which drives its
/// level-triggered line.
struct VirtioMMIOState: VirtioTransportSpecificState {
    /// `VirtioMMIORegister.usedBufferInterrupt` | `configChangeInterrupt`.
    var interruptStatus: UInt32 = 0

    var interruptLevel: Bool { interruptStatus != 0 }

    mutating func deviceReset() {
        interruptStatus = 0
    }

    /// Sets the cause's bit (one interrupt for all queues); asks for delivery when the line goes high.
    mutating func raise(_ cause: VirtioInterruptCause) -> Void? {
        let wasHigh = interruptLevel
        switch cause {
        case .usedBuffers: interruptStatus |= VirtioMMIORegister.usedBufferInterrupt
        case .configurationChange: interruptStatus |= VirtioMMIORegister.configChangeInterrupt
        }
        return wasHigh ? nil : ()
    }
}
