#if canImport(Glibc)
    import Glibc
#endif

/// What lstat(2) or stat(2) reports about a file, as storage pools and volumes show it.
struct FileStatus: Hashable, Sendable {
    enum Kind: Hashable, Sendable {
        case regular
        case directory
        case symbolicLink
        /// A device, FIFO or socket.
        case other
    }

    var kind: Kind
    /// st_size: the length of a regular file.
    var size: UInt64
    /// st_blocks * 512: what the file takes on disk (less than `size` when sparse).
    var allocated: UInt64
    /// The permission bits (0o7777 of st_mode).
    var mode: UInt32
    var owner: UInt32
    var group: UInt32

    init(_ info: stat) {
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symbolicLink
        default: kind = .other
        }
        size = UInt64(max(info.st_size, 0))
        let (allocated, overflow) = UInt64(max(info.st_blocks, 0)).multipliedReportingOverflow(by: 512)
        self.allocated = overflow ? UInt64.max : allocated
        mode = UInt32(info.st_mode & 0o7777)
        owner = info.st_uid
        group = info.st_gid
    }
}

/// statvfs(2) of the file system holding a pool's directory, in bytes.
struct FileSystemSpace: Hashable, Sendable {
    var capacity: UInt64
    /// What unprivileged users may still allocate (f_bavail), as libvirt reports "available".
    var available: UInt64
    /// capacity minus the free blocks (f_bfree), as libvirt reports "allocation".
    var allocation: UInt64

    static let zero = FileSystemSpace(capacity: 0, available: 0, allocation: 0)
}
