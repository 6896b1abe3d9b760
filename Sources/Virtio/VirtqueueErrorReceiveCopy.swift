import GuestMemory

/// Turns a failed copy into a receive chain (by a device thread) into the queue error that marks the
/// device DEVICE_NEEDS_RESET.
extension VirtqueueError {
    /// The chain's buffers were checked when it was walked and every copy is sized to them, so this
    /// happens only if guest RAM no longer holds them; the queue is treated as broken.
    init(receiveCopy error: DescriptorChainError, chain: DescriptorChain) {
        switch error {
        case .memory(let memoryError):
            self = .memory(memoryError)
        case .outOfBounds:
            self = .bufferOutOfRange(
                address: chain.segments.first?.address ?? GuestAddress(0),
                length: UInt32(clamping: chain.writableLength))
        }
    }
}
