#if canImport(Glibc)
    import Glibc
#endif

/// A host network call that failed, worded as libvirt's virnetdev.c words it ("Cannot get interface
/// MTU on 'br0'"), with errno read at once.
public struct HostNetworkError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was being done, without the reason.
    public var action: String
    public var errno: Int32

    init(_ action: String, errno: Int32) {
        self.action = action
        self.errno = errno
    }

    /// "Cannot get interface MTU on 'br0': No such device".
    public var description: String { "\(action): \(String(cString: strerror(errno)))" }
}

/// A tap interface the daemon opened for a VMM. The interface is not persistent: it exists while a
/// descriptor on it is open, so it disappears when the VMM that inherited it exits, however it exits.
/// The daemon's own descriptor is closed when this goes away (right after the VMM is spawned).
final class TapDevice {
    let name: String
    let descriptor: Int32

    fileprivate init(name: String, descriptor: Int32) {
        self.name = name
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }
}

/// The management layer's network calls: the only place it opens the tun device or issues interface
/// ioctls (netdevice(7); Documentation/networking/tuntap.rst; SIOCBRADDIF from linux/sockios.h).
/// Interface names are checked against IFNAMSIZ before any call.
enum HostNetwork {
    /// IFNAMSIZ (linux/if.h), including the terminating NUL.
    static let nameCapacity = 16

    /// SIOCGIFFLAGS / SIOCSIFFLAGS / SIOCGIFMTU / SIOCSIFMTU / SIOCSIFHWADDR / SIOCGIFINDEX
    /// (linux/sockios.h).
    private static let getFlags: UInt = 0x8913
    private static let setFlags: UInt = 0x8914
    private static let getMTU: UInt = 0x8921
    private static let setMTU: UInt = 0x8922
    private static let setHardwareAddress: UInt = 0x8924
    private static let getIndex: UInt = 0x8933
    /// SIOCGIFADDR / SIOCSIFADDR / SIOCSIFNETMASK (linux/sockios.h): an interface's IPv4 address.
    private static let getAddress: UInt = 0x8915
    private static let setAddress: UInt = 0x8916
    private static let setNetmask: UInt = 0x891c
    /// SIOCBRADDBR / SIOCBRDELBR: create or delete the bridge named by the argument string.
    private static let bridgeCreate: UInt = 0x89a0
    private static let bridgeDelete: UInt = 0x89a1
    /// SIOCBRADDIF: enslave the interface whose index is in ifr_ifindex to the bridge in ifr_name.
    private static let bridgeAddInterface: UInt = 0x89a2
    /// TUNSETIFF, _IOW('T', 202, int) (linux/if_tun.h).
    private static let tunSetInterface: UInt = 0x4004_54ca

    /// IFF_UP (linux/if.h).
    private static let flagUp: UInt16 = 0x1
    /// IFF_TAP | IFF_NO_PI | IFF_VNET_HDR: what the VMM's tap backend expects (linux/if_tun.h).
    private static let tapFlags: UInt16 = 0x0002 | 0x1000 | 0x4000
    /// IFF_TUN_EXCL: fail with EBUSY instead of attaching to an interface that already exists.
    private static let tunExclusive: UInt16 = 0x8000
    /// AF_INET, the sa_family of an IPv4 socket address.
    private static let familyIPv4: UInt16 = 2
    /// ARPHRD_ETHER (linux/if_arp.h), the sa_family of an Ethernet hardware address.
    private static let hardwareTypeEthernet: UInt16 = 1

    /// ioctl(2) is variadic, which Swift cannot call; bound here with the one shape these calls use.
    private typealias IoctlFunction = @convention(c) (Int32, UInt, UnsafeMutableRawPointer?) -> Int32
    private static let ioctlFunction: IoctlFunction? = {
        guard let symbol = dlsym(nil, "ioctl") else { return nil }
        return unsafeBitCast(symbol, to: IoctlFunction.self)
    }()

    /// Whether `name` fits in IFNAMSIZ and is a name the kernel accepts (dev_valid_name: not empty,
    /// not "." or "..", no '/', ':' or whitespace).
    static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count < nameCapacity, name != ".", name != ".." else { return false }
        return !bytes.contains { $0 == 0 || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 <= 0x20 }
    }

    /// Whether an interface of that name exists.
    static func exists(_ name: String) -> Bool {
        isValidName(name) && if_nametoindex(name) != 0
    }

    static func mtu(of name: String) throws(HostNetworkError) -> Int32 {
        var request = try Request(name: name, action: "Cannot get interface MTU on '\(name)'")
        try control(getMTU, &request, action: "Cannot get interface MTU on '\(name)'")
        return request.integer
    }

    static func setMTU(_ mtu: Int32, of name: String) throws(HostNetworkError) {
        let action = "Cannot set interface MTU on '\(name)'"
        var request = try Request(name: name, action: action)
        request.integer = mtu
        try control(setMTU, &request, action: action)
    }

    static func setHardwareAddress(_ octets: [UInt8], of name: String) throws(HostNetworkError) {
        let action = "Cannot set interface MAC on '\(name)'"
        var request = try Request(name: name, action: action)
        request.setHardwareAddress(family: hardwareTypeEthernet, octets)
        try control(setHardwareAddress, &request, action: action)
    }

    /// Sets IFF_UP, keeping the other flags.
    static func bringUp(_ name: String) throws(HostNetworkError) {
        let action = "Cannot set interface flags on '\(name)'"
        var request = try Request(name: name, action: "Cannot get interface flags on '\(name)'")
        try control(getFlags, &request, action: "Cannot get interface flags on '\(name)'")
        request.flags |= flagUp
        try control(setFlags, &request, action: action)
    }

    /// Clears IFF_UP, keeping the other flags.
    static func bringDown(_ name: String) throws(HostNetworkError) {
        var request = try Request(name: name, action: "Cannot get interface flags on '\(name)'")
        try control(getFlags, &request, action: "Cannot get interface flags on '\(name)'")
        request.flags &= ~flagUp
        try control(setFlags, &request, action: "Cannot set interface flags on '\(name)'")
    }

    /// Creates a Linux bridge (what `ip link add NAME type bridge` does); it starts down.
    static func createBridge(_ name: String) throws(HostNetworkError) {
        let action = "Unable to create bridge \(name)"
        var request = try Request(name: name, action: action)
        try control(bridgeCreate, &request, action: action)
    }

    /// Deletes a bridge, which must be down; its ports are released.
    static func deleteBridge(_ name: String) throws(HostNetworkError) {
        let action = "Unable to delete bridge \(name)"
        var request = try Request(name: name, action: action)
        try control(bridgeDelete, &request, action: action)
    }

    /// Gives the interface its (primary) IPv4 address and netmask.
    static func setAddress(_ interface: IPv4Interface, of name: String) throws(HostNetworkError) {
        let action = "Failed to add IP address \(interface) to \(name)"
        var request = try Request(name: name, action: action)
        request.setIPv4Address(family: familyIPv4, interface.address.octets)
        try control(setAddress, &request, action: action, family: AF_INET)
        request.setIPv4Address(family: familyIPv4, interface.netmask.octets)
        try control(setNetmask, &request, action: action, family: AF_INET)
    }

    /// The interface's primary IPv4 address, or nil if it has none.
    static func address(of name: String) -> IPv4Address? {
        guard var request = try? Request(name: name, action: "") else { return nil }
        guard (try? control(getAddress, &request, action: "", family: AF_INET)) != nil else { return nil }
        return request.ipv4Address
    }

    /// Makes `port` a port of `bridge` (what `ip link set PORT master BRIDGE` does for a Linux bridge).
    static func addPort(_ port: String, toBridge bridge: String) throws(HostNetworkError) {
        var indexRequest = try Request(name: port, action: "Unable to get index for interface \(port)")
        try control(getIndex, &indexRequest, action: "Unable to get index for interface \(port)")
        let action = "Unable to add bridge \(bridge) port \(port)"
        var request = try Request(name: bridge, action: action)
        request.integer = indexRequest.integer
        try control(bridgeAddInterface, &request, action: action)
    }

    /// Opens /dev/net/tun and creates (or, unless `exclusive`, attaches to) the tap `name`, with the
    /// flags the VMM's tap backend needs. The descriptor is close-on-exec: only a spawn that passes it
    /// on explicitly hands it to a VMM.
    static func openTap(_ name: String, exclusive: Bool) throws(HostNetworkError) -> TapDevice {
        let action = "Unable to create tap device \(name)"
        var request = try Request(name: name, action: action)
        request.flags = tapFlags | (exclusive ? tunExclusive : 0)
        let descriptor = open("/dev/net/tun", O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw HostNetworkError("Unable to open /dev/net/tun, is tun module loaded?", errno: errno)
        }
        do {
            try call(descriptor, tunSetInterface, &request, action: action)
        } catch {
            close(descriptor)
            throw error
        }
        return TapDevice(name: request.name, descriptor: descriptor)
    }

    /// An ioctl on a throwaway AF_LOCAL datagram socket, as the netdevice(7) calls take.
    private static func control(
        _ number: UInt, _ request: inout Request, action: String, family: Int32 = AF_LOCAL
    ) throws(HostNetworkError) {
        let socket = Glibc.socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw HostNetworkError(action, errno: errno) }
        defer { close(socket) }
        try call(socket, number, &request, action: action)
    }

    private static func call(
        _ descriptor: Int32, _ number: UInt, _ request: inout Request, action: String
    ) throws(HostNetworkError) {
        guard let ioctlFunction else { throw HostNetworkError(action, errno: ENOSYS) }
        let result = request.bytes.withUnsafeMutableBytes { ioctlFunction(descriptor, number, $0.baseAddress) }
        guard result == 0 else { throw HostNetworkError(action, errno: errno) }
    }

    /// struct ifreq (linux/if.h), laid out by hand: ifr_name[IFNAMSIZ] at 0, then a 24-byte union at 16
    /// read as ifr_flags (short), ifr_mtu / ifr_ifindex (int) or ifr_hwaddr (struct sockaddr); 40
    /// bytes on 64-bit Linux. Little-endian, as on every host SwiftVirt runs on.
    private struct Request {
        static let size = 40
        static let unionOffset = 16

        var bytes = [UInt8](repeating: 0, count: Request.size)

        init(name: String, action: String) throws(HostNetworkError) {
            guard HostNetwork.isValidName(name) else { throw HostNetworkError(action, errno: EINVAL) }
            let utf8 = Array(name.utf8)
            bytes.replaceSubrange(0..<utf8.count, with: utf8)
        }

        var name: String {
            let end = bytes[0..<HostNetwork.nameCapacity].firstIndex(of: 0) ?? HostNetwork.nameCapacity
            return String(decoding: bytes[0..<end], as: UTF8.self)
        }

        var flags: UInt16 {
            get { UInt16(truncatingIfNeeded: integer) }
            set {
                bytes[Self.unionOffset] = UInt8(truncatingIfNeeded: newValue)
                bytes[Self.unionOffset + 1] = UInt8(truncatingIfNeeded: newValue >> 8)
            }
        }

        var integer: Int32 {
            get {
                (0..<4).reduce(0) { value, index in value | Int32(bytes[Self.unionOffset + index]) << (8 * index) }
            }
            set {
                for index in 0..<4 {
                    bytes[Self.unionOffset + index] = UInt8(truncatingIfNeeded: newValue >> (8 * index))
                }
            }
        }

        /// A `struct sockaddr_in`: sa_family, a zero port, then the address in network byte order.
        mutating func setIPv4Address(family: UInt16, _ octets: [UInt8]) {
            for index in 0..<16 { bytes[Self.unionOffset + index] = 0 }
            bytes[Self.unionOffset] = UInt8(truncatingIfNeeded: family)
            bytes[Self.unionOffset + 1] = UInt8(truncatingIfNeeded: family >> 8)
            for (index, octet) in octets.prefix(4).enumerated() { bytes[Self.unionOffset + 4 + index] = octet }
        }

        var ipv4Address: IPv4Address {
            IPv4Address((4..<8).reduce(0) { value, index in value << 8 | UInt32(bytes[Self.unionOffset + index]) })
        }

        /// sa_family, then the address in sa_data.
        mutating func setHardwareAddress(family: UInt16, _ octets: [UInt8]) {
            bytes[Self.unionOffset] = UInt8(truncatingIfNeeded: family)
            bytes[Self.unionOffset + 1] = UInt8(truncatingIfNeeded: family >> 8)
            for (index, octet) in octets.prefix(14).enumerated() { bytes[Self.unionOffset + 2 + index] = octet }
        }
    }
}
