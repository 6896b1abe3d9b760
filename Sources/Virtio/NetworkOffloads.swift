/// Work the host's network stack may leave to the guest in frames it delivers, as the driver accepted it
/// through VIRTIO_NET_F_GUEST_* (virtio 1.2 §5.1.3). Raw values are linux/if_tun.h's TUN_F_* bits, the
/// argument of TUNSETOFFLOAD.
public struct NetworkOffloads: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// TUN_F_CSUM: frames may carry a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM).
    public static let checksum = NetworkOffloads(rawValue: 0x01)
    /// TUN_F_TSO4: frames may be TCP-over-IPv4 segments larger than the MTU.
    public static let tcp4Segmentation = NetworkOffloads(rawValue: 0x02)
    /// TUN_F_TSO6: frames may be TCP-over-IPv6 segments larger than the MTU.
    public static let tcp6Segmentation = NetworkOffloads(rawValue: 0x04)
    /// TUN_F_TSO_ECN: large TCP segments may carry the ECN CWR flag.
    public static let segmentationECN = NetworkOffloads(rawValue: 0x08)
}
