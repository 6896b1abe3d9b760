import GuestMemory

/// A copy into or out of a descriptor chain that does not fit its buffers.
public enum DescriptorChainError: Error, Equatable, CustomStringConvertible {
    /// [offset, offset+length) is not inside the chain's readable (or writable) bytes.
    case outOfBounds(offset: UInt64, length: UInt64, available: UInt64, writable: Bool)
    /// A segment's guest memory could not be accessed.
    case memory(GuestMemoryError)

    public var description: String {
        switch self {
        case .outOfBounds(let offset, let length, let available, let writable):
            let kind = writable ? "writable" : "readable"
            return "[\(offset), +\(length)) is outside the chain's \(available) \(kind) bytes"
        case .memory(let error):
            return "descriptor chain buffer access failed: \(error)"
        }
    }
}
