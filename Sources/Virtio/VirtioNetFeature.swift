/// virtio-net feature bits (virtio 1.2 §5.1.3; linux/virtio_net.h VIRTIO_NET_F_*), as bit masks.
public enum VirtioNetFeature {
    /// The device handles frames with a partial checksum (the driver may leave it to the host).
    public static let checksum: UInt64 = 1 << 0
    /// The driver handles received frames with a partial checksum.
    public static let guestChecksum: UInt64 = 1 << 1
    /// `mtu` in the configuration is valid.
    public static let mtu: UInt64 = 1 << 3
    /// `mac` in the configuration is valid.
    public static let mac: UInt64 = 1 << 5
    /// The driver takes TCPv4 segments larger than the MTU.
    public static let guestTSO4: UInt64 = 1 << 7
    /// The driver takes TCPv6 segments larger than the MTU.
    public static let guestTSO6: UInt64 = 1 << 8
    /// The driver takes large TCP segments with ECN.
    public static let guestECN: UInt64 = 1 << 9
    /// The device takes TCPv4 segments larger than the MTU.
    public static let hostTSO4: UInt64 = 1 << 11
    /// The device takes TCPv6 segments larger than the MTU.
    public static let hostTSO6: UInt64 = 1 << 12
    /// The device takes large TCP segments with ECN.
    public static let hostECN: UInt64 = 1 << 13
    /// A received frame may span several receive buffers; the header's num_buffers counts them.
    public static let mergeableReceiveBuffers: UInt64 = 1 << 15
    /// `status` in the configuration is valid.
    public static let status: UInt64 = 1 << 16
}
