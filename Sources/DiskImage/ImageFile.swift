#if canImport(Glibc)
    import Glibc
#endif

/// An open image file: the only place in this library that issues file system calls.
///
/// Reads loop over short transfers and treat the end of the file as zeroes (as QEMU's file driver
/// does); writes loop until done. EINTR is retried; any other errno is thrown with the call's name.
final class ImageFile: @unchecked Sendable {
    /// linux/falloc.h: keep the file size.
    private static let fallocKeepSize: Int32 = 0x01
    /// linux/falloc.h: deallocate the range.
    private static let fallocPunchHole: Int32 = 0x02
    /// linux/falloc.h: make the range read as zeroes.
    private static let fallocZeroRange: Int32 = 0x10
    /// lseek(2) whences from linux/fs.h (Glibc exports them only under _GNU_SOURCE).
    private static let seekData: Int32 = 3
    private static let seekHole: Int32 = 4
    /// fallocate(2)'s C signature; Glibc declares it only under _GNU_SOURCE, so it is looked up once.
    private typealias Fallocate = @convention(c) (Int32, Int32, off_t, off_t) -> Int32
    private static let fallocateAddress = Int(bitPattern: dlsym(nil, "fallocate"))
    /// Largest offset an off_t can express.
    static let maximumOffset = UInt64(Int64.max)

    let path: String
    let isReadOnly: Bool
    private let descriptor: Int32

    /// fcntl(2) commands for open file description locks (bits/fcntl-linux.h, _GNU_SOURCE only).
    private static let getOFDLock: Int32 = 36
    private static let setOFDLock: Int32 = 37
    /// QEMU's lock bytes (block/file-posix.c RAW_LOCK_PERM_BASE, RAW_LOCK_SHARED_BASE): a permission
    /// taken is locked at 100 + its bit, one not shared at 200 + its bit. Libvirt uses byte 0.
    private static let takenLockBase: off_t = 100
    private static let unsharedLockBase: off_t = 200

    /// Opens an existing file; with `locks`, takes QEMU's image locks for them (see `lock`). Without
    /// `followSymlinks` the path must name a regular file itself (see `openDescriptor`).
    init(
        path: String, readOnly: Bool, locks: (taken: ImagePermissions, shared: ImagePermissions)? = nil,
        followSymlinks: Bool = true
    ) throws(DiskImageError) {
        self.path = path
        self.isReadOnly = readOnly
        self.descriptor = try Self.openDescriptor(
            path, readOnly ? O_RDONLY : O_RDWR, mode: 0, followSymlinks: followSymlinks)
        if let locks { try lock(taking: locks.taken, sharing: locks.shared) }
    }

    /// Creates `path` (replacing an existing regular file's contents) for writing. As QEMU's
    /// raw_co_create, the file is emptied only once it is locked for writing and resizing, so an image
    /// another process uses is refused rather than destroyed.
    ///
    /// With `existing`, nothing is created: `path` must be exactly that file, reached without a
    /// symbolic link, so a caller that created it exclusively (O_EXCL|O_NOFOLLOW) writes into the very
    /// file it made even if someone who can write to the directory swapped the name meanwhile.
    init(creating path: String, existing: FileIdentity? = nil) throws(DiskImageError) {
        self.path = path
        self.isReadOnly = false
        if let existing {
            self.descriptor = try Self.openDescriptor(path, O_RDWR, mode: 0, followSymlinks: false)
            guard try identity() == existing else {
                throw .invalidArgument("\(path) is no longer the file that was created for the image")
            }
        } else {
            self.descriptor = try Self.openDescriptor(path, O_RDWR | O_CREAT, mode: 0o644, followSymlinks: true)
        }
        try lock(taking: [.write, .resize], sharing: ImagePermissions.all.subtracting(.resize))
        try truncate(to: 0)
    }

    /// open(2). Without `followSymlinks` a symbolic link as the last component is refused (O_NOFOLLOW:
    /// ELOOP), and so is anything but a regular file (EINVAL); O_NONBLOCK keeps a FIFO planted at the
    /// path from blocking the open, and regular files ignore it.
    private static func openDescriptor(
        _ path: String, _ flags: Int32, mode: mode_t, followSymlinks: Bool
    ) throws(DiskImageError) -> Int32 {
        let descriptor = open(path, flags | O_CLOEXEC | (followSymlinks ? 0 : O_NOFOLLOW | O_NONBLOCK), mode)
        guard descriptor >= 0 else { throw .open(path: path, errno: errno) }
        guard !followSymlinks else { return descriptor }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let code = errno
            close(descriptor)
            throw .open(path: path, errno: code)
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw .open(path: path, errno: EINVAL)
        }
        return descriptor
    }

    deinit {
        close(descriptor)
    }

    /// The file's length in bytes (lseek to the end: works for regular files and block devices).
    func length() throws(DiskImageError) -> UInt64 {
        let end = lseek(descriptor, 0, SEEK_END)
        guard end >= 0 else { throw .io(operation: "lseek", path: path, offset: 0, errno: errno) }
        return UInt64(end)
    }

    /// (st_dev, st_ino): identifies the file for loop detection in backing chains.
    func identity() throws(DiskImageError) -> FileIdentity {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw .io(operation: "fstat", path: path, offset: 0, errno: errno)
        }
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// Fills `buffer` from `offset`; bytes past the end of the file read as zeroes. Returns how many
    /// bytes came from the file.
    @discardableResult
    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(DiskImageError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        try checkOffset(offset, buffer.count)
        var done = 0
        while done < buffer.count {
            let position = offset + UInt64(done)
            let count = pread(descriptor, base + done, buffer.count - done, off_t(position))
            if count < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "pread", path: path, offset: position, errno: errno)
            }
            if count == 0 { break }
            done += count
        }
        if done < buffer.count {
            (base + done).initializeMemory(as: UInt8.self, repeating: 0, count: buffer.count - done)
        }
        return done
    }

    /// Reads `count` bytes at `offset` into a new array (zeroes past the end of the file).
    func readBytes(at offset: UInt64, count: Int) throws(DiskImageError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withMutableBytes { (buffer) throws(DiskImageError) in
            _ = try read(at: offset, into: buffer)
        }
        return bytes
    }

    /// Writes all of `buffer` at `offset`.
    func write(at offset: UInt64, from buffer: UnsafeRawBufferPointer) throws(DiskImageError) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        try checkOffset(offset, buffer.count)
        var done = 0
        while done < buffer.count {
            let position = offset + UInt64(done)
            let count = pwrite(descriptor, base + done, buffer.count - done, off_t(position))
            if count < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "pwrite", path: path, offset: position, errno: errno)
            }
            // pwrite returning 0 for a non-empty buffer would never progress: treat it as a full disk.
            guard count > 0 else { throw .io(operation: "pwrite", path: path, offset: position, errno: ENOSPC) }
            done += count
        }
    }

    /// Writes `bytes` at `offset`.
    func write(at offset: UInt64, bytes: [UInt8]) throws(DiskImageError) {
        try bytes.withBytes { (buffer) throws(DiskImageError) in try write(at: offset, from: buffer) }
    }

    /// fdatasync(2): data and the metadata needed to read it back are durable.
    func synchronize() throws(DiskImageError) {
        while fdatasync(descriptor) != 0 {
            if errno == EINTR { continue }
            throw .io(operation: "fdatasync", path: path, offset: 0, errno: errno)
        }
    }

    /// ftruncate(2).
    func truncate(to length: UInt64) throws(DiskImageError) {
        try checkOffset(length, 0)
        while ftruncate(descriptor, off_t(length)) != 0 {
            if errno == EINTR { continue }
            throw .io(operation: "ftruncate", path: path, offset: length, errno: errno)
        }
    }

    /// Reserves [offset, offset+length) with posix_fallocate(3), extending the file if needed.
    func reserve(offset: UInt64, length: UInt64) throws(DiskImageError) {
        guard length > 0 else { return }
        try checkOffset(offset, 0)
        try checkOffset(length, 0)
        let result = posix_fallocate(descriptor, off_t(offset), off_t(length))
        guard result == 0 else { throw .io(operation: "posix_fallocate", path: path, offset: offset, errno: result) }
    }

    /// Deallocates the range, keeping the file size. A hint: returns false where the file system
    /// cannot punch holes.
    @discardableResult
    func punchHole(offset: UInt64, length: UInt64) -> Bool {
        fallocate(mode: Self.fallocPunchHole | Self.fallocKeepSize, offset: offset, length: length) == 0
    }

    /// Makes the range read as zeroes without writing them, keeping the file size; false when the file
    /// system cannot (the caller then writes zeroes).
    func zeroRange(offset: UInt64, length: UInt64) -> Bool {
        fallocate(mode: Self.fallocZeroRange | Self.fallocKeepSize, offset: offset, length: length) == 0
    }

    /// Where the next data at or after `offset` starts (SEEK_DATA), nil past the last data or when the
    /// file system cannot tell.
    func nextData(from offset: UInt64) -> UInt64? { seek(offset, Self.seekData) }

    /// Where the next hole at or after `offset` starts (SEEK_HOLE; the end of the file counts as one).
    func nextHole(from offset: UInt64) -> UInt64? { seek(offset, Self.seekHole) }

    private func seek(_ offset: UInt64, _ whence: Int32) -> UInt64? {
        guard offset <= Self.maximumOffset else { return nil }
        let result = lseek(descriptor, off_t(offset), whence)
        return result < 0 ? nil : UInt64(result)
    }

    /// fallocate(2), retrying EINTR; 0 or the errno (ENOSYS when the C library lacks it).
    private func fallocate(mode: Int32, offset: UInt64, length: UInt64) -> Int32 {
        guard length > 0 else { return 0 }
        guard offset <= Self.maximumOffset, length <= Self.maximumOffset - offset else { return EINVAL }
        guard let address = UnsafeRawPointer(bitPattern: Self.fallocateAddress) else { return ENOSYS }
        let call = unsafeBitCast(address, to: Fallocate.self)
        while call(descriptor, mode, off_t(offset), off_t(length)) != 0 {
            if errno == EINTR { continue }
            return errno
        }
        return 0
    }

    // MARK: Image locks

    /// QEMU's raw_apply_lock_bytes then raw_check_lock_bytes: publishes `taken` and the complement of
    /// `shared` as shared locks on this file description, then fails when another file description
    /// holds a lock on a byte that conflicts (a permission taken here that another does not share, or
    /// one not shared here that another takes). Publishing first means two racing openers cannot both
    /// pass. File systems without byte-range locks are opened unlocked, as QEMU's locking=auto does.
    func lock(taking taken: ImagePermissions, sharing shared: ImagePermissions) throws(DiskImageError) {
        let unshared = ImagePermissions.all.subtracting(shared)
        let bytes =
            taken.members.map { Self.takenLockBase + off_t($0.bit) }
            + unshared.members.map { Self.unsharedLockBase + off_t($0.bit) }
        for byte in bytes {
            var request = Self.lockRequest(type: F_RDLCK, start: byte, length: 1)
            let code = fileControl(Self.setOFDLock, &request)
            if code == EAGAIN || code == EACCES { throw .locked(path: path, reason: "Failed to lock byte \(byte)") }
            guard code == 0 else { return }
        }
        for (bit, permission) in taken.members where isLockedElsewhere(Self.unsharedLockBase + off_t(bit)) {
            throw .locked(path: path, reason: "Failed to get \"\(permission.name)\" lock")
        }
        for (bit, permission) in unshared.members where isLockedElsewhere(Self.takenLockBase + off_t(bit)) {
            throw .locked(path: path, reason: "Failed to get shared \"\(permission.name)\" lock")
        }
    }

    /// Drops this file description's image locks (closing the file drops them too).
    func releaseLocks() {
        var request = Self.lockRequest(
            type: F_UNLCK, start: Self.takenLockBase, length: 2 * (Self.unsharedLockBase - Self.takenLockBase))
        _ = fileControl(Self.setOFDLock, &request)
    }

    /// qemu_lock_fd_test: would an exclusive lock on `byte` conflict with another file description's?
    private func isLockedElsewhere(_ byte: off_t) -> Bool {
        var request = Self.lockRequest(type: F_WRLCK, start: byte, length: 1)
        return fileControl(Self.getOFDLock, &request) == 0 && request.l_type != Int16(F_UNLCK)
    }

    private static func lockRequest(type: Int32, start: off_t, length: off_t) -> flock {
        var request = flock()
        request.l_type = Int16(type)
        request.l_whence = Int16(SEEK_SET)
        request.l_start = start
        request.l_len = length
        request.l_pid = 0  // required by the OFD commands
        return request
    }

    /// fcntl(2) with a lock argument, retrying EINTR; 0 or the errno.
    private func fileControl(_ command: Int32, _ request: inout flock) -> Int32 {
        while fcntl(descriptor, command, &request) != 0 {
            if errno == EINTR { continue }
            return errno
        }
        return 0
    }

    /// Offsets beyond off_t's range cannot be passed to the kernel.
    private func checkOffset(_ offset: UInt64, _ count: Int) throws(DiskImageError) {
        guard offset <= Self.maximumOffset, UInt64(count) <= Self.maximumOffset - offset else {
            throw .io(operation: "seek", path: path, offset: offset, errno: EFBIG)
        }
    }
}
