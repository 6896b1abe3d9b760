import GuestMemory

/// A virtio device model, independent of the transport that exposes it (virtio 1.2 §2, §5).
///
/// The transport owns the registers and feature negotiation; it hands the device the negotiated
/// features and the queues the driver set up when the driver sets DRIVER_OK, asks it to process a queue
/// when the driver notifies, and resets it when the driver writes 0 to the status. Calls come from vCPU
/// threads, possibly several at once, so a device serializes its own state.
public protocol VirtioDevice: AnyObject, Sendable {
    /// Virtio device ID (§5): 2 for block, 1 for network, ...
    var deviceID: UInt32 { get }
    /// Feature bits the device offers; must include `VirtioFeature.version1`.
    var deviceFeatures: UInt64 { get }
    /// Number of virtqueues the device uses.
    var queueCount: Int { get }
    /// Largest Queue Size the device accepts (QueueNumMax); a power of two up to 32768.
    var maxQueueSize: UInt16 { get }

    /// Reads `size` bytes (1, 2, 4 or 8) of device configuration space at `offset`, little-endian.
    /// Bytes outside the configuration read as 0.
    func readConfig(offset: UInt64, size: Int) -> UInt64
    /// A driver write to device configuration space; read-only fields ignore it.
    func writeConfig(offset: UInt64, size: Int, value: UInt64)

    /// Starts the device with the features the driver accepted and its queues (index = queue number;
    /// queues the driver did not make ready have `isReady == false`). The queues were validated.
    /// `interrupt` reaches the driver from the device's own threads; `activate` itself runs under the
    /// transport's lock and must not call it.
    func activate(features: UInt64, queues: [SplitVirtqueue], interrupt: VirtioInterrupt)

    /// Handles all buffers available on queue `index`. Returns true when used buffers were added and the
    /// driver's notification suppression asks for an interrupt. A thrown error means the queue is
    /// broken: the transport sets DEVICE_NEEDS_RESET.
    func processQueue(index: Int, memory: GuestMemory) throws(VirtqueueError) -> Bool

    /// Returns the device to its state before `activate` (the driver wrote 0 to the status, §2.4).
    func reset()
}
