import GuestMemory

/// The driver-facing state every virtio transport has (virtio 1.2 §2.1 status, §2.2 feature bits, §2.5
/// configuration generation, §2.6 virtqueues) plus the transport's own registers, as one value behind the
/// transport's lock.
struct VirtioTransportState<Specific: VirtioTransportSpecificState> {
    /// Device status (§2.1), bits from `VirtioDeviceStatus`.
    var status: UInt32 = 0
    var deviceFeaturesSelect: UInt32 = 0
    var driverFeaturesSelect: UInt32 = 0
    /// What the driver wrote to the driver features, both halves.
    var driverFeatures: UInt64 = 0
    var queueSelect: UInt32 = 0
    /// The driver's per-queue setup (size, ready, the three addresses), index = queue number.
    var queues: [SplitVirtqueue]
    var configGeneration: UInt32 = 0
    /// Increases on every reset, so queue processing that raced a reset does not raise a stale interrupt.
    var epoch: UInt64 = 0
    /// The error that set DEVICE_NEEDS_RESET, for diagnostics.
    var queueError: VirtqueueError?
    var specific: Specific
    /// A queue's size after reset: 0 on virtio-mmio, the maximum on virtio-pci (§4.1.4.3: queue_size
    /// "on reset, specifies the maximum queue size supported by the device").
    let queueSizeAfterReset: UInt16

    init(queueCount: Int, queueSizeAfterReset: UInt16 = 0, specific: Specific) {
        queues = Array(repeating: SplitVirtqueue(size: queueSizeAfterReset), count: max(queueCount, 0))
        self.queueSizeAfterReset = queueSizeAfterReset
        self.specific = specific
    }

    /// Whether the driver finished initialization and the device has not failed since.
    var isLive: Bool {
        status & VirtioDeviceStatus.driverOK != 0 && status & VirtioDeviceStatus.deviceNeedsReset == 0
    }

    /// The queue the queue selector points at, when it exists.
    var selectedQueueIndex: Int? {
        Int(queueSelect) < queues.count ? Int(queueSelect) : nil
    }

    /// Back to the power-on state (§2.4: writing 0 to the status resets the device and all queues). The
    /// configuration generation keeps counting.
    mutating func reset() {
        var next = Self(queueCount: queues.count, queueSizeAfterReset: queueSizeAfterReset, specific: specific)
        next.epoch = epoch &+ 1
        next.configGeneration = configGeneration
        next.specific.deviceReset()
        self = next
    }

    /// The 32 bits of `features` the device feature selector picks (§4.1.4.3, §4.2.2).
    func deviceFeatureWindow(_ features: UInt64) -> UInt32 {
        switch deviceFeaturesSelect {
        case 0: UInt32(truncatingIfNeeded: features)
        case 1: UInt32(truncatingIfNeeded: features >> 32)
        default: 0
        }
    }

    /// The 32 bits of the driver features the driver feature selector picks.
    var driverFeatureWindow: UInt32 {
        switch driverFeaturesSelect {
        case 0: UInt32(truncatingIfNeeded: driverFeatures)
        case 1: UInt32(truncatingIfNeeded: driverFeatures >> 32)
        default: 0
        }
    }

    /// A driver write to the selected 32 bits of its features; ignored once FEATURES_OK is set (§3.1.1).
    mutating func writeDriverFeatureWindow(_ value: UInt32) {
        guard status & VirtioDeviceStatus.featuresOK == 0 else { return }
        switch driverFeaturesSelect {
        case 0: driverFeatures = (driverFeatures & 0xFFFF_FFFF_0000_0000) | UInt64(value)
        case 1: driverFeatures = (driverFeatures & 0xFFFF_FFFF) | UInt64(value) << 32
        default: break
        }
    }

    /// Changes the selected queue's setup; ignored when no queue is selected or it is ready, since a
    /// ready queue's setup is fixed until reset (§4.1.4.3.2, §4.2.2.3).
    mutating func setUpSelectedQueue(_ change: (inout SplitVirtqueue) -> Void) {
        guard let index = selectedQueueIndex, !queues[index].isReady else { return }
        change(&queues[index])
    }

    /// A queue error: DEVICE_NEEDS_RESET and, once the driver is running, a configuration change
    /// notification so it notices (§2.1.2).
    mutating func markNeedsReset(_ error: VirtqueueError) -> Specific.Delivery? {
        queueError = error
        status |= VirtioDeviceStatus.deviceNeedsReset
        guard status & VirtioDeviceStatus.driverOK != 0 else { return nil }
        return specific.raise(.configurationChange)
    }

    /// The device configuration changed: a new generation, and a notification once the driver is
    /// running (§2.5.1).
    mutating func configurationChanged() -> Specific.Delivery? {
        configGeneration &+= 1
        guard status & VirtioDeviceStatus.driverOK != 0 else { return nil }
        return specific.raise(.configurationChange)
    }
}

extension GuestAddress {
    /// The low 32 bits, as a transport register holds them.
    var low32: UInt32 { UInt32(truncatingIfNeeded: rawValue) }
    /// The high 32 bits.
    var high32: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 32) }

    /// This address with its low 32 bits replaced (a driver writes 64-bit addresses in two halves).
    func replacingLow32(_ value: UInt32) -> GuestAddress {
        GuestAddress((rawValue & 0xFFFF_FFFF_0000_0000) | UInt64(value))
    }

    /// This address with its high 32 bits replaced.
    func replacingHigh32(_ value: UInt32) -> GuestAddress {
        GuestAddress((rawValue & 0xFFFF_FFFF) | UInt64(value) << 32)
    }
}
