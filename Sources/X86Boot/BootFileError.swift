#if canImport(Glibc)
    import Glibc
#endif

/// Why bytes could not be read from a boot file.
public enum BootFileError: Error, Equatable, CustomStringConvertible {
    /// open(2) failed with ENOENT.
    case notFound(path: String)
    /// A directory, FIFO or device: boot files must be regular files (their size is known up front).
    case notRegularFile(path: String)
    /// open(2) or fstat(2) failed for another reason.
    case openFailed(path: String, errno: Int32)
    /// pread(2) failed.
    case readFailed(path: String, offset: UInt64, errno: Int32)
    /// The file ended before the size fstat reported: it was truncated while the VM was being built.
    case shortRead(path: String, offset: UInt64, size: UInt64)
    /// [offset, offset+count) is not inside the image (a loader bug: every range is checked beforehand).
    case outOfRange(offset: UInt64, count: UInt64, size: UInt64)

    public var description: String {
        switch self {
        case .notFound(let path):
            return "\(path) not found"
        case .notRegularFile(let path):
            return "\(path) is not a regular file"
        case .openFailed(let path, let code):
            return "cannot open \(path): \(String(cString: strerror(code)))"
        case .readFailed(let path, let offset, let code):
            return "cannot read \(path) at byte \(offset): \(String(cString: strerror(code)))"
        case .shortRead(let path, let offset, let size):
            return "\(path) ended at byte \(offset) but was \(size) bytes when opened: was it changed while the VM "
                + "was being built?"
        case .outOfRange(let offset, let count, let size):
            return "bytes [\(offset), +\(count)) are outside the \(size)-byte image"
        }
    }
}
