/// Why a virtio-net device could not be created.
public enum VirtioNetError: Error, Equatable, CustomStringConvertible {
    /// The MTU must be 68...65535 (virtio 1.2 §5.1.4.1; 68 is IPv4's minimum).
    case invalidMTU(Int)
    /// A group (multicast) address cannot be an interface's own.
    case multicastMAC(MACAddress)
    /// A host resource the device needs (its wake-up eventfd) could not be created.
    case systemCall(name: String, errno: Int32)

    public var description: String {
        switch self {
        case .invalidMTU(let mtu):
            return "network MTU \(mtu) is outside 68...65535"
        case .multicastMAC(let mac):
            return "MAC address \(mac) is a multicast address: clear the lowest bit of the first octet"
        case .systemCall(let name, let errno):
            return "\(name) for the network device failed (errno \(errno))"
        }
    }
}
