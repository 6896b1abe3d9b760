/// Why a block backend operation failed. System call failures carry the call's name and errno.
public enum BlockBackendError: Error, Equatable, CustomStringConvertible {
    /// open(2) of the image failed.
    case open(path: String, errno: Int32)
    /// A system call on the open image failed.
    case systemCall(name: String, offset: UInt64, errno: Int32)
    /// The file ended before a read of the disk's range completed (it shrank under us).
    case unexpectedEndOfFile(offset: UInt64)
    /// A write, discard or write-zeroes on a read-only disk.
    case readOnly
    /// [offset, offset+length) is not inside the disk.
    case outOfRange(offset: UInt64, length: UInt64, size: UInt64)

    public var description: String {
        switch self {
        case .open(let path, let errno):
            return "cannot open disk image \(path) (errno \(errno)): check the path and its permissions"
        case .systemCall(let name, let offset, let errno):
            return "\(name) at byte \(offset) of the disk image failed (errno \(errno))"
        case .unexpectedEndOfFile(let offset):
            return "disk image ended at byte \(offset), inside the disk's size"
        case .readOnly:
            return "the disk is read-only"
        case .outOfRange(let offset, let length, let size):
            return "[\(offset), +\(length)) is outside the \(size)-byte disk"
        }
    }
}
