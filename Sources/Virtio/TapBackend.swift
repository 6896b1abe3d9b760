import CKVM

#if canImport(Glibc)
    import Glibc
#endif

/// A Linux tap interface as a network backend: a layer-2 device without packet information whose frames
/// carry the 12-byte virtio-net header (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, TUNSETVNETHDRSZ 12; see
/// Documentation/networking/tuntap.rst). The descriptor is non-blocking.
///
/// The only file issuing tun ioctls and tap reads and writes. The interface exists while the descriptor
/// is open (it is not made persistent); closing it removes the interface.
public final class TapBackend: NetworkBackend {
    /// The tun/tap control device.
    public static let controlPath = "/dev/net/tun"
    /// The header size the device model exchanges: struct virtio_net_hdr_v1 (virtio 1.2 §5.1.6).
    static let vnetHeaderSize: Int32 = 12

    /// The interface name the kernel reports ("tap0", or the name asked for).
    public let interfaceName: String
    public let fileDescriptor: Int32
    public let hasVnetHeader: Bool

    /// Creates (or attaches to) the tap interface `name`; an empty name lets the kernel choose one.
    /// Needs CAP_NET_ADMIN unless the interface exists and belongs to the caller.
    public init(name: String = "") throws(NetworkBackendError) {
        let flags = TunIoctl.flagTap | TunIoctl.flagNoPacketInformation | TunIoctl.flagVnetHeader
        guard var request = InterfaceRequest(name: name, flags: flags) else { throw .invalidInterfaceName(name) }
        let descriptor = open(Self.controlPath, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw .open(path: Self.controlPath, errno: errno) }
        do {
            try Self.control(descriptor, TunIoctl.setInterface, "TUNSETIFF", &request.bytes)
            try Self.setVnetHeaderSize(descriptor)
        } catch {
            close(descriptor)
            throw error
        }
        fileDescriptor = descriptor
        interfaceName = request.name
        hasVnetHeader = true
    }

    /// Adopts an open tap descriptor (one a management daemon passed in), checking with TUNGETIFF that it
    /// is a tap without packet information. With IFF_VNET_HDR its header size is set to 12; the descriptor
    /// is made non-blocking. Owns (and closes) the descriptor only when this returns.
    public init(fileDescriptor descriptor: Int32) throws(NetworkBackendError) {
        var request = InterfaceRequest()
        try Self.control(descriptor, TunIoctl.getInterface, "TUNGETIFF", &request.bytes)
        let flags = request.flags
        let required = TunIoctl.flagTap | TunIoctl.flagNoPacketInformation
        guard flags & required == required else { throw .notATap(descriptor: descriptor, flags: flags) }
        let vnetHeader = flags & TunIoctl.flagVnetHeader != 0
        if vnetHeader { try Self.setVnetHeaderSize(descriptor) }
        let status = fcntl(descriptor, F_GETFL)
        guard status >= 0 else { throw .systemCall(name: "fcntl(F_GETFL)", errno: errno) }
        guard fcntl(descriptor, F_SETFL, status | O_NONBLOCK) == 0 else {
            throw .systemCall(name: "fcntl(F_SETFL)", errno: errno)
        }
        fileDescriptor = descriptor
        interfaceName = request.name
        hasVnetHeader = vnetHeader
    }

    deinit {
        close(fileDescriptor)
    }

    /// One write per frame: the tap takes a whole frame or fails (EAGAIN when its queue is full).
    public func send(_ frame: UnsafeRawBufferPointer) throws(NetworkBackendError) {
        while true {
            let count = write(fileDescriptor, frame.baseAddress, frame.count)
            if count >= 0 { return }
            guard errno == EINTR else { throw .systemCall(name: "write", errno: errno) }
        }
    }

    /// One read returns one frame; EAGAIN means none is waiting.
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(NetworkBackendError) -> Int? {
        while true {
            let count = read(fileDescriptor, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            switch errno {
            case EINTR: continue
            case EAGAIN: return nil
            case let code: throw .systemCall(name: "read", errno: code)
            }
        }
    }

    /// TUNSETOFFLOAD. The kernel ignores the segmentation bits unless `checksum` is set too.
    public func setOffloads(_ offloads: NetworkOffloads) throws(NetworkBackendError) {
        guard ckvm_ioctl_value(fileDescriptor, TunIoctl.setOffload, UInt(offloads.rawValue)) == 0 else {
            throw .systemCall(name: "TUNSETOFFLOAD", errno: errno)
        }
    }

    private static func setVnetHeaderSize(_ descriptor: Int32) throws(NetworkBackendError) {
        var size = vnetHeaderSize
        guard ckvm_ioctl(descriptor, TunIoctl.setVnetHeaderSize, &size) == 0 else {
            throw .systemCall(name: "TUNSETVNETHDRSZ", errno: errno)
        }
    }

    /// An ioctl whose argument is a struct ifreq.
    private static func control(_ descriptor: Int32, _ request: UInt, _ name: String, _ bytes: inout [UInt8])
        throws(NetworkBackendError)
    {
        let result = bytes.withUnsafeMutableBytes { ckvm_ioctl(descriptor, request, $0.baseAddress) }
        guard result == 0 else { throw .systemCall(name: name, errno: errno) }
    }
}
