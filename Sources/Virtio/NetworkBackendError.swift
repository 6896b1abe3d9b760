/// Why a network backend could not be set up or could not move a frame. System call failures carry
/// the call's name and errno.
public enum NetworkBackendError: Error, Equatable, CustomStringConvertible {
    /// open(2) of the tun/tap control device failed.
    case open(path: String, errno: Int32)
    /// A system call or ioctl on the backend's descriptor failed (EAGAIN on `send`: the host queue is full).
    case systemCall(name: String, errno: Int32)
    /// An interface name must be at most 15 bytes of UTF-8 without NUL (IFNAMSIZ - 1).
    case invalidInterfaceName(String)
    /// An adopted descriptor is not a tap without packet information (TUNGETIFF flags shown).
    case notATap(descriptor: Int32, flags: UInt16)
    /// The other end of the backend went away.
    case closed

    public var description: String {
        switch self {
        case .open(let path, let errno):
            return "cannot open \(path) (errno \(errno)): load the tun module and run as root or with CAP_NET_ADMIN"
        case .systemCall(let name, let errno):
            return "\(name) on the network backend failed (errno \(errno))"
        case .invalidInterfaceName(let name):
            return "interface name \"\(name)\" must be 1 to 15 bytes without NUL, or empty for a kernel-chosen name"
        case .notATap(let descriptor, let flags):
            return
                "descriptor \(descriptor) is not a tap opened with IFF_TAP | IFF_NO_PI (flags 0x\(String(flags, radix: 16)))"
        case .closed:
            return "the network backend was closed"
        }
    }
}
