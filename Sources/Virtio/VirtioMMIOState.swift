/// The registers of one virtio-mmio transport (virtio 1.2 §4.2.2) that the driver reads back or that
/// drive its lifecycle. A value kept behind the transport's lock.
struct VirtioMMIOState {
    /// Device status (§2.1), bits from `VirtioDeviceStatus`.
    var status: UInt32 = 0
    var deviceFeaturesSelect: UInt32 = 0
    var driverFeaturesSelect: UInt32 = 0
    /// What the driver wrote to DriverFeatures, both halves.
    var driverFeatures: UInt64 = 0
    var queueSelect: UInt32 = 0
    /// The driver's per-queue setup (QueueNum, QueueReady, the three addresses), index = queue number.
    var queues: [SplitVirtqueue]
    /// InterruptStatus: `VirtioMMIORegister.usedBufferInterrupt` | `configChangeInterrupt`.
    var interruptStatus: UInt32 = 0
    var configGeneration: UInt32 = 0
    /// Increases on every reset, so queue processing that raced a reset does not raise a stale interrupt.
    var epoch: UInt64 = 0
    /// The error that set DEVICE_NEEDS_RESET, for diagnostics.
    var queueError: VirtqueueError?

    init(queueCount: Int) {
        queues = Array(repeating: SplitVirtqueue(), count: max(queueCount, 0))
    }

    /// Whether the driver finished initialization and the device has not failed since.
    var isLive: Bool {
        status & VirtioDeviceStatus.driverOK != 0 && status & VirtioDeviceStatus.deviceNeedsReset == 0
    }

    var interruptLevel: Bool { interruptStatus != 0 }

    /// The queue QueueSel points at, when it exists.
    var selectedQueueIndex: Int? {
        Int(queueSelect) < queues.count ? Int(queueSelect) : nil
    }

    /// Back to the power-on state (§4.2.2.1: writing 0 to Status resets the device and all queues).
    mutating func reset() {
        let nextEpoch = epoch &+ 1
        let generation = configGeneration
        self = VirtioMMIOState(queueCount: queues.count)
        epoch = nextEpoch
        configGeneration = generation
    }

    /// A queue error: DEVICE_NEEDS_RESET and, once the driver is running, a configuration change
    /// notification so it notices (§2.1.2).
    mutating func markNeedsReset(_ error: VirtqueueError) {
        queueError = error
        status |= VirtioDeviceStatus.deviceNeedsReset
        if status & VirtioDeviceStatus.driverOK != 0 {
            interruptStatus |= VirtioMMIORegister.configChangeInterrupt
        }
    }
}
