#if canImport(Glibc)
    import Glibc
#endif

/// Why a disk image operation failed. Messages say where the problem is and, where it helps, what to do.
public enum DiskImageError: Error, Equatable, CustomStringConvertible {
    /// The image file could not be opened or created.
    case open(path: String, errno: Int32)
    /// A system call on an open image file failed.
    case io(operation: String, path: String, offset: UInt64, errno: Int32)
    /// The file is not an image of the expected format, or its header is malformed.
    case invalidImage(path: String, reason: String)
    /// The image needs features this library does not implement (unknown incompatible feature bits,
    /// an unknown version or compression type).
    case unsupportedFeatures([String])
    /// A valid image uses something deliberately not implemented (encryption, external data files).
    case notSupported(String)
    /// Image metadata contradicts itself or points outside the file.
    case corrupt(String)
    /// A request reaches outside the virtual disk.
    case outOfRange(offset: UInt64, length: UInt64, size: UInt64)
    /// A write, discard, resize or repair on an image opened read-only.
    case readOnly
    /// The chain of backing files is longer than the caller's limit (or loops).
    case backingChainTooDeep(path: String, limit: Int)
    /// A caller-supplied value is not acceptable (create options, alignment).
    case invalidArgument(String)
    /// The image was closed.
    case closed
    /// Another process's lock on the image conflicts with this open (QEMU's image locking; see
    /// `ImageSharing`). `reason` is QEMU's wording, e.g. `Failed to get shared "write" lock`.
    case locked(path: String, reason: String)

    public var description: String {
        switch self {
        case .open(let path, let code):
            return "cannot open \(path): \(Self.text(code))"
        case .io(let operation, let path, let offset, let code):
            return "\(operation) on \(path) at offset \(offset) failed: \(Self.text(code))"
        case .invalidImage(let path, let reason):
            return "\(path) is not a valid image: \(reason)"
        case .unsupportedFeatures(let names):
            return "Unsupported qcow2 feature(s): \(names.joined(separator: ", "))"
        case .notSupported(let what):
            return "\(what) is not supported"
        case .corrupt(let reason):
            return "Image is corrupt: \(reason)"
        case .outOfRange(let offset, let length, let size):
            return "request at offset \(offset) of \(length) bytes is outside the \(size)-byte disk"
        case .readOnly:
            return "the image is open read-only"
        case .backingChainTooDeep(let path, let limit):
            return "backing chain of \(path) is deeper than \(limit) images (or contains a loop)"
        case .invalidArgument(let reason):
            return reason
        case .closed:
            return "the image is closed"
        case .locked(let path, let reason):
            return "\(reason): is another process using the image \(path)? (qemu-img -U reads it anyway)"
        }
    }

    /// strerror(3) text plus the errno name's number, e.g. "No space left on device (errno 28)".
    static func text(_ code: Int32) -> String {
        guard let message = strerror(code) else { return "errno \(code)" }
        return "\(String(cString: message)) (errno \(code))"
    }
}
