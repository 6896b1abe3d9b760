#if canImport(Glibc)
    import Glibc
#endif

/// Reads a boot file (kernel, initrd) whole, with errors that say which file and what to do.
enum HostFile {
    static func read(_ path: String, limit: Int, what: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = errno == ENOENT ? "\(what) not found" : String(cString: strerror(errno))
            throw VMMError.fileUnreadable(path: path, reason: reason)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw VMMError.fileUnreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw VMMError.fileUnreadable(path: path, reason: "the \(what) must be a regular file")
        }
        let size = Int(info.st_size)
        guard size > 0 else { throw VMMError.fileUnreadable(path: path, reason: "the \(what) file is empty") }
        guard size <= limit else {
            throw VMMError.fileUnreadable(
                path: path, reason: "the \(what) is \(size >> 20) MiB; the limit is \(limit >> 20) MiB")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var offset = 0
        while offset < size {
            let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + offset, size - offset, off_t(offset)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                throw VMMError.fileUnreadable(path: path, reason: "short read at byte \(offset) of \(size)")
            }
            offset += count
        }
        return bytes
    }
}
