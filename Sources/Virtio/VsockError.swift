/// Why a virtio-vsock device could not be created.
public enum VsockError: Error, Equatable, CustomStringConvertible {
    /// CIDs 0–2 are reserved (hypervisor, local, host) and Linux CIDs are 32-bit with -1 meaning "any".
    case invalidGuestCID(UInt64)
    /// The listening socket, the eventfd or the thread could not be set up.
    case host(HostIOError)

    public var description: String {
        switch self {
        case .invalidGuestCID(let cid):
            return "vsock guest CID \(cid) is invalid: choose a value from 3 to 4294967294"
        case .host(let error):
            return "cannot start the vsock device: \(error)"
        }
    }
}
