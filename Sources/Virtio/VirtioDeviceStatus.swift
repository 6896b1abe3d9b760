/// Bits of the device status field (virtio 1.2 §2.1; linux/virtio_config.h VIRTIO_CONFIG_S_*).
public enum VirtioDeviceStatus {
    /// The guest noticed the device.
    public static let acknowledge: UInt32 = 1
    /// The guest has a driver for it.
    public static let driver: UInt32 = 2
    /// The driver is set up and the device is live.
    public static let driverOK: UInt32 = 4
    /// Feature negotiation finished; the device clears it again to refuse the driver's features (§3.1.1).
    public static let featuresOK: UInt32 = 8
    /// The device hit an error it cannot recover from without a reset (§2.1.2).
    public static let deviceNeedsReset: UInt32 = 0x40
    /// The driver gave up on the device.
    public static let failed: UInt32 = 0x80
}
