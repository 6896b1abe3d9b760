/// Why a transport interrupts the driver (virtio 1.2 §2.3): a queue's used buffers or a configuration
/// change (which includes DEVICE_NEEDS_RESET, §2.1.2).
enum VirtioInterruptCause: Equatable, Sendable {
    case usedBuffers(queue: Int)
    case configurationChange
}
