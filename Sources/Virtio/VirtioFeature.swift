/// Feature bits shared by every virtio device, as bit masks (virtio 1.2 §6 "Reserved Feature Bits";
/// numbers from linux/virtio_config.h and linux/virtio_ring.h).
public enum VirtioFeature {
    /// VIRTIO_RING_F_INDIRECT_DESC (28): descriptors may point at indirect tables (§2.7.5.3).
    public static let indirectDescriptors: UInt64 = 1 << 28
    /// VIRTIO_RING_F_EVENT_IDX (29): used_event / avail_event replace the ring flags (§2.7.7, §2.7.10).
    public static let eventIndex: UInt64 = 1 << 29
    /// VIRTIO_F_VERSION_1 (32): the driver follows virtio 1.x, not the legacy interface (§6).
    public static let version1: UInt64 = 1 << 32
}
