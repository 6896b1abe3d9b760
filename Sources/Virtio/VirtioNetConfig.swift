/// The virtio-net device configuration layout (virtio 1.2 §5.1.4, struct virtio_net_config) up to `mtu`;
/// little-endian, packed. Later fields (speed, duplex, RSS) belong to features this device does not offer.
struct VirtioNetConfig {
    /// VIRTIO_NET_S_LINK_UP in `status`.
    static let linkUp: UInt16 = 1
    /// Bytes encoded: mac (0), status (6), max_virtqueue_pairs (8), mtu (10).
    static let encodedSize = 12

    var mac: MACAddress
    var status: UInt16 = VirtioNetConfig.linkUp
    /// One receive/transmit pair (meaningful to the driver only with VIRTIO_NET_F_MQ).
    var maximumQueuePairs: UInt16 = 1
    var mtu: UInt16

    /// The bytes the driver reads from configuration space.
    func encoded() -> [UInt8] {
        var bytes = mac.octets
        for value in [status, maximumQueuePairs, mtu] {
            bytes.append(UInt8(truncatingIfNeeded: value))
            bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        }
        return bytes
    }
}
