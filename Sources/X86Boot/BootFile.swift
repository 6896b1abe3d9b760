#if canImport(Glibc)
    import Glibc
#endif

/// A kernel or initrd read with pread(2) on demand. Payloads go from the page cache straight into guest
/// RAM (`read(at:into:)` with a `GuestMemory.withBytes` buffer), so the VMM's resident memory never
/// holds a copy of the file. The size is taken once, at open; a file that shrinks afterwards gives
/// `BootFileError.shortRead`, never a half-loaded guest.
public final class BootFile: BootFileSource {
    public let path: String
    public let size: UInt64
    private let descriptor: Int32

    /// Opens `path` read-only. O_NONBLOCK keeps open(2) from waiting for a writer when the path is a
    /// FIFO (refused just below); reads of regular files ignore it.
    public init(path: String) throws(BootFileError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            let code = errno
            throw code == ENOENT ? .notFound(path: path) : .openFailed(path: path, errno: code)
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let code = errno
            close(descriptor)
            throw .openFailed(path: path, errno: code)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG, info.st_size >= 0 else {
            close(descriptor)
            throw .notRegularFile(path: path)
        }
        self.path = path
        self.size = UInt64(info.st_size)
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    public func read(at offset: UInt64, count: Int) throws -> [UInt8] {
        guard count >= 0 else { throw BootFileError.outOfRange(offset: offset, count: 0, size: size) }
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try read(at: offset, into: $0) }
        return bytes
    }

    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
        let length = UInt64(buffer.count)
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard !overflow, end <= size else {
            throw BootFileError.outOfRange(offset: offset, count: length, size: size)
        }
        guard let base = buffer.baseAddress else { return }
        // Each pass either advances or retries after EINTR; pread may return less than asked (Linux caps
        // one call at about 2 GiB).
        var done = 0
        while done < buffer.count {
            // offset + done ≤ end ≤ size, which came from a non-negative off_t.
            let position = offset + UInt64(done)
            let count = pread(descriptor, base + done, buffer.count - done, off_t(position))
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                throw BootFileError.readFailed(path: path, offset: position, errno: code)
            }
            guard count > 0 else { throw BootFileError.shortRead(path: path, offset: position, size: size) }
            done += count
        }
    }
}
