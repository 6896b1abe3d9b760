/// Where the virtio-pci function puts its structures (virtio 1.2 §4.1.4; linux/virtio_pci.h): each in its
/// own 4 KiB page of BAR 0, and the capabilities that point at them in configuration space.
///
/// BAR 0 (`barLength` = 32 KiB):
/// - 0x0000 common configuration (§4.1.4.3), 0x38 bytes;
/// - 0x1000 ISR status (§4.1.4.5), 1 byte;
/// - 0x2000 device-specific configuration (§4.1.4.6), 4 KiB;
/// - 0x3000 notifications (§4.1.4.4): queue n at 0x3000 + 4 n (queue_notify_off = n, multiplier 4);
/// - 0x4000 MSI-X table, 16 bytes per vector (queue count + 1 vectors);
/// - 0x6000 MSI-X pending bit array.
enum VirtioPCILayout {
    static let barLength: UInt64 = 0x8000
    static let commonConfig: UInt64 = 0x0000
    /// struct virtio_pci_common_cfg, without 1.2's queue_notify_data and queue_reset (features not offered).
    static let commonConfigLength: UInt64 = 0x38
    static let isr: UInt64 = 0x1000
    static let isrLength: UInt64 = 1
    static let deviceConfig: UInt64 = 0x2000
    static let deviceConfigLength: UInt64 = 0x1000
    static let notify: UInt64 = 0x3000
    static let notifyOffsetMultiplier: UInt64 = 4
    static let msixTable: UInt64 = 0x4000
    static let msixPendingBits: UInt64 = 0x6000
    /// The MSI-X table page pair holds 512 vectors: one per queue and one for configuration changes.
    static let maximumQueueCount = Int((msixPendingBits - msixTable) / MSIXTable.entrySize) - 1

    // Capabilities in configuration space, chained in this order from `firstCapability`.
    static let commonCapability = 0x40
    static let notifyCapability = 0x50
    static let isrCapability = 0x64
    static let deviceCapability = 0x74
    static let pciConfigCapability = 0x84
    static let msixCapability = 0x98
    static let firstCapability = commonCapability

    // struct virtio_pci_cap fields, from the capability's start.
    static let capabilityLengthField = 2
    static let capabilityType = 3
    static let capabilityBAR = 4
    static let capabilityOffset = 8
    static let capabilityLength = 12
    /// virtio_pci_notify_cap.notify_off_multiplier and virtio_pci_cfg_cap.pci_cfg_data.
    static let capabilityExtra = 16
    /// sizeof(struct virtio_pci_cap); the notify and PCI configuration access capabilities add 4 bytes.
    static let capabilitySize = 16

    // cfg_type values (§4.1.4).
    static let commonConfigType: UInt8 = 1
    static let notifyConfigType: UInt8 = 2
    static let isrConfigType: UInt8 = 3
    static let deviceConfigType: UInt8 = 4
    static let pciConfigType: UInt8 = 5
}

/// Field offsets of the common configuration structure (§4.1.4.3, struct virtio_pci_common_cfg). The driver
/// accesses each at its natural width; 64-bit fields also as two 32-bit halves (§4.1.3.1).
enum VirtioPCICommonConfig {
    static let deviceFeatureSelect: UInt64 = 0x00
    static let deviceFeature: UInt64 = 0x04
    static let driverFeatureSelect: UInt64 = 0x08
    static let driverFeature: UInt64 = 0x0C
    /// msix_config: the configuration change vector.
    static let configVector: UInt64 = 0x10
    static let queueCount: UInt64 = 0x12
    static let deviceStatus: UInt64 = 0x14
    static let configGeneration: UInt64 = 0x15
    static let queueSelect: UInt64 = 0x16
    static let queueSize: UInt64 = 0x18
    static let queueVector: UInt64 = 0x1A
    static let queueEnable: UInt64 = 0x1C
    static let queueNotifyOffset: UInt64 = 0x1E
    static let queueDescriptor: UInt64 = 0x20
    static let queueDriver: UInt64 = 0x28
    static let queueDevice: UInt64 = 0x30

    /// VIRTIO_MSI_NO_VECTOR: no interrupt for this source, or the device refused the vector.
    static let noVector: UInt16 = 0xFFFF
    /// ISR bit 0: a queue interrupt (only without MSI-X).
    static let isrQueue: UInt8 = 1 << 0
    /// ISR bit 1: a device configuration change (VIRTIO_PCI_ISR_CONFIG).
    static let isrConfig: UInt8 = 1 << 1
}
