/// How a device reaches its driver from a thread of its own (a network receive thread, a vsock
/// connection, console input): the transport hands one to `VirtioDevice.activate`.
///
/// Each handle belongs to one activation: after the driver resets the device, calls through an old
/// handle are ignored, so a device thread that races a reset cannot interrupt the next driver.
public struct VirtioInterrupt: Sendable {
    private let onUsedBuffers: @Sendable (_ queue: Int) -> Void
    private let onQueueError: @Sendable (VirtqueueError) -> Void

    /// - Parameters:
    ///   - usedBuffers: raises the used-buffer interrupt of a queue (virtio-pci with MSI-X has one
    ///     vector per queue; virtio-mmio has one interrupt for all).
    ///   - queueError: marks the device DEVICE_NEEDS_RESET for this error.
    public init(
        usedBuffers: @escaping @Sendable (_ queue: Int) -> Void,
        queueError: @escaping @Sendable (VirtqueueError) -> Void
    ) {
        onUsedBuffers = usedBuffers
        onQueueError = queueError
    }

    /// A handle that does nothing, for devices driven only through `processQueue` in tests.
    public static let none = VirtioInterrupt(usedBuffers: { _ in }, queueError: { _ in })

    /// The device added used buffers to queue `queue` and its notification suppression asks for an
    /// interrupt (`SplitVirtqueue.shouldInterrupt` said so).
    public func usedBuffers(queue: Int) {
        onUsedBuffers(queue)
    }

    /// A queue the device serves from its own thread turned out broken; the driver must reset it.
    public func queueBroken(_ error: VirtqueueError) {
        onQueueError(error)
    }
}
