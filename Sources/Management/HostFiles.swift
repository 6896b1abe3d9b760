#if canImport(Glibc)
    import Glibc
#endif

/// The file-system calls of the management layer: the only place it opens, writes, renames, lists
/// and removes files. Every read is bounded; writes that must survive a crash go through
/// `writeAtomically`.
enum HostFiles {
    /// The most entries `list` returns from one directory (a bound, not a product limit).
    static let maxDirectoryEntries = 1_000_000

    /// Reads at most `limit` bytes; a longer file is an error rather than a silent truncation.
    static func read(_ path: String, limit: Int) throws(SystemCallError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemCallError("open", path, errno: errno) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemCallError("read", path, errno: errno)
            }
            if count == 0 { return bytes }
            guard bytes.count + count <= limit else { throw SystemCallError("read", path, errno: EFBIG) }
            bytes += chunk.prefix(count)
        }
    }

    /// The file's text, or nil if it does not exist or cannot be read.
    static func readText(_ path: String, limit: Int) -> String? {
        guard let bytes = try? read(path, limit: limit) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Replaces `path` with `bytes` so that after a crash the file holds either the old or the new
    /// content, never a mix: write a temporary file in the same directory, fsync it, rename it over
    /// the target, then fsync the directory so the rename itself is durable (rename(2), fsync(2)).
    static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600) throws(SystemCallError) {
        let (directory, base) = split(path)
        let temporary = directory + "/." + base + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)
        guard descriptor >= 0 else { throw SystemCallError("open", temporary, errno: errno) }
        do throws(SystemCallError) {
            try writeAll(descriptor, bytes, path: temporary)
            guard fsync(descriptor) == 0 else { throw SystemCallError("fsync", temporary, errno: errno) }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        guard close(descriptor) == 0 else {
            let error = SystemCallError("close", temporary, errno: errno)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let error = SystemCallError("rename", temporary, errno: errno)
            unlink(temporary)
            throw error
        }
        try syncDirectory(directory)
    }

    /// Whether `name` is a temporary file `writeAtomically` leaves behind if it is interrupted.
    static func isTemporaryName(_ name: String) -> Bool {
        name.hasPrefix(".") && name.hasSuffix(".tmp")
    }

    static func syncDirectory(_ directory: String) throws(SystemCallError) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemCallError("open", directory, errno: errno) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw SystemCallError("fsync", directory, errno: errno) }
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(SystemCallError) {
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemCallError("write", path, errno: errno)
            }
            written += count
        }
    }

    /// Writes `text` into a file that must already exist, without creating, truncating or renaming
    /// (sysfs and procfs attributes).
    static func writeExisting(_ path: String, _ text: String) throws(SystemCallError) {
        let descriptor = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { throw SystemCallError("open", path, errno: errno) }
        defer { close(descriptor) }
        try writeAll(descriptor, Array(text.utf8), path: path)
    }

    /// Appends `text` to a log file, creating it (0600). Failures are ignored: logs are best effort.
    static func append(_ path: String, _ text: String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        try? writeAll(descriptor, Array(text.utf8), path: path)
    }

    /// The file's size in bytes, 0 if it does not exist.
    static func size(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }

    /// At most the last `maxBytes` bytes written after `offset`, as text (for error messages quoting
    /// what a process logged).
    static func tail(_ path: String, from offset: Int64 = 0, maxBytes: Int) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return "" }
        defer { close(descriptor) }
        let end = Int64(lseek(descriptor, 0, SEEK_END))
        let start = max(offset, end - Int64(maxBytes), 0)
        guard end > start else { return "" }
        var bytes = [UInt8](repeating: 0, count: Int(end - start))
        let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(start)) }
        guard count > 0 else { return "" }
        return String(decoding: bytes.prefix(count), as: UTF8.self)
    }

    /// Creates `path` and its missing parents.
    static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(SystemCallError) {
        var partial = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, mode) != 0, errno != EEXIST {
                throw SystemCallError("mkdir", partial, errno: errno)
            }
        }
    }

    /// Names in `directory`, without "." and "..".
    static func list(_ directory: String) throws(SystemCallError) -> [String] {
        guard let stream = opendir(directory) else { throw SystemCallError("opendir", directory, errno: errno) }
        defer { closedir(stream) }
        var names: [String] = []
        while names.count < maxDirectoryEntries, let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Throws unless this process may read `path`.
    static func checkReadable(_ path: String) throws(SystemCallError) {
        guard access(path, R_OK) == 0 else { throw SystemCallError("access", path, errno: errno) }
    }

    /// Whether anything (a file, a dangling symlink, a socket) exists at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Removes a file; one that is already gone is not an error.
    static func remove(_ path: String) throws(SystemCallError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw SystemCallError("unlink", path, errno: errno) }
    }

    /// Makes `path` a symbolic link to `target`, replacing whatever was there.
    static func replaceSymlink(_ path: String, target: String) throws(SystemCallError) {
        try remove(path)
        guard symlink(target, path) == 0 else { throw SystemCallError("symlink", path, errno: errno) }
        try syncDirectory(split(path).directory)
    }

    /// lstat(2): a symbolic link is reported as one, not followed.
    static func status(_ path: String) throws(SystemCallError) -> FileStatus {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw SystemCallError("lstat", path, errno: errno) }
        return FileStatus(info)
    }

    static func fileSystemSpace(_ path: String) throws(SystemCallError) -> FileSystemSpace {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { throw SystemCallError("statvfs", path, errno: errno) }
        let block = UInt64(info.f_frsize)
        let (capacity, overflow) = UInt64(info.f_blocks).multipliedReportingOverflow(by: block)
        guard !overflow else { throw SystemCallError("statvfs", path, errno: EOVERFLOW) }
        let free = min(UInt64(info.f_bfree) &* block, capacity)
        return FileSystemSpace(
            capacity: capacity, available: min(UInt64(info.f_bavail) &* block, capacity), allocation: capacity - free)
    }

    /// Creates an empty file that did not exist (O_EXCL, never through a symbolic link), with exactly
    /// `mode` (not narrowed by the umask) and, when given, `owner` and `group`. Returns its (st_dev,
    /// st_ino), so whoever opens it again by name can check it is still this file.
    @discardableResult
    static func createExclusive(
        _ path: String, mode: mode_t, owner: UInt32? = nil, group: UInt32? = nil
    ) throws(SystemCallError) -> (device: UInt64, inode: UInt64) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw SystemCallError("open", path, errno: errno) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let error = SystemCallError("fstat", path, errno: errno)
            unlink(path)
            throw error
        }
        guard fchmod(descriptor, mode) == 0 else {
            let error = SystemCallError("fchmod", path, errno: errno)
            unlink(path)
            throw error
        }
        if owner != nil || group != nil {
            guard fchown(descriptor, owner ?? UInt32.max, group ?? UInt32.max) == 0 else {
                let error = SystemCallError("fchown", path, errno: errno)
                unlink(path)
                throw error
            }
        }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    /// Sets what is given of a directory's mode, owner and group.
    static func setOwnership(
        _ path: String, mode: mode_t?, owner: UInt32?, group: UInt32?
    ) throws(SystemCallError) {
        if let mode, chmod(path, mode) != 0 { throw SystemCallError("chmod", path, errno: errno) }
        if owner != nil || group != nil, chown(path, owner ?? UInt32.max, group ?? UInt32.max) != 0 {
            throw SystemCallError("chown", path, errno: errno)
        }
    }

    /// Removes an empty directory.
    static func removeDirectory(_ path: String) throws(SystemCallError) {
        guard rmdir(path) == 0 else { throw SystemCallError("rmdir", path, errno: errno) }
    }

    /// Directory and last component of a path ("." for a bare name).
    static func split(_ path: String) -> (directory: String, base: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = slash == path.startIndex ? "/" : String(path[..<slash])
        return (directory, String(path[path.index(after: slash)...]))
    }
}
