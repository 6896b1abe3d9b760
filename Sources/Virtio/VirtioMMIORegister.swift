/// Register offsets of the virtio-mmio transport, version 2 (virtio 1.2 §4.2.2, Table 4.1;
/// linux/virtio_mmio.h). Offsets 0x000–0x0FF are 32-bit registers, device config starts at 0x100.
enum VirtioMMIORegister {
    /// "virt" in little-endian: 0x74726976.
    static let magicValue: UInt64 = 0x000
    /// 2 for the modern (non-legacy) layout.
    static let version: UInt64 = 0x004
    /// Virtio device type (§5), 0 means no device.
    static let deviceID: UInt64 = 0x008
    static let vendorID: UInt64 = 0x00C
    /// 32 bits of the device's features, chosen by DeviceFeaturesSel.
    static let deviceFeatures: UInt64 = 0x010
    static let deviceFeaturesSelect: UInt64 = 0x014
    /// 32 bits of the driver's features, chosen by DriverFeaturesSel.
    static let driverFeatures: UInt64 = 0x020
    static let driverFeaturesSelect: UInt64 = 0x024
    /// Selects the queue the Queue* registers below refer to.
    static let queueSelect: UInt64 = 0x030
    static let queueSizeMaximum: UInt64 = 0x034
    static let queueSize: UInt64 = 0x038
    static let queueReady: UInt64 = 0x044
    /// The driver writes a queue index here to say it added buffers.
    static let queueNotify: UInt64 = 0x050
    static let interruptStatus: UInt64 = 0x060
    static let interruptAcknowledge: UInt64 = 0x064
    static let status: UInt64 = 0x070
    static let queueDescriptorLow: UInt64 = 0x080
    static let queueDescriptorHigh: UInt64 = 0x084
    static let queueDriverLow: UInt64 = 0x090
    static let queueDriverHigh: UInt64 = 0x094
    static let queueDeviceLow: UInt64 = 0x0A0
    static let queueDeviceHigh: UInt64 = 0x0A4
    /// Shared memory region length / base for the region SHMSel picks (0x0AC); this transport has none.
    static let sharedMemoryLengthLow: UInt64 = 0x0B0
    static let sharedMemoryBaseHigh: UInt64 = 0x0BC
    /// Changes whenever device config changes, so the driver can read multi-word config consistently.
    static let configGeneration: UInt64 = 0x0FC
    /// Device-specific configuration space.
    static let config: UInt64 = 0x100

    static let magic: UInt32 = 0x7472_6976
    static let modernVersion: UInt32 = 2

    /// InterruptStatus bit 0: a queue's used ring was updated.
    static let usedBufferInterrupt: UInt32 = 1 << 0
    /// InterruptStatus bit 1: the device configuration (or status: DEVICE_NEEDS_RESET) changed.
    static let configChangeInterrupt: UInt32 = 1 << 1
}
