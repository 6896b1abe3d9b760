/// A guest-memory access that does not fit inside guest RAM.
public enum GuestMemoryError: Error, Equatable, CustomStringConvertible {
    /// [address, address+length) is not entirely inside one RAM region (or the sum overflows).
    case outOfRange(address: GuestAddress, length: UInt64)
    /// The layout asked for is impossible (overlapping or empty regions, too large).
    case invalidLayout(String)
    /// mmap of guest RAM failed.
    case allocationFailed(bytes: UInt64, errno: Int32)

    public var description: String {
        switch self {
        case .outOfRange(let address, let length):
            return "guest memory access [\(address), +\(length)) is outside guest RAM"
        case .invalidLayout(let reason):
            return "invalid guest memory layout: \(reason)"
        case .allocationFailed(let bytes, let errno):
            return "cannot allocate \(bytes >> 20) MiB of guest RAM (errno \(errno)): lower --memory"
        }
    }
}
