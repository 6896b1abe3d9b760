#if canImport(Glibc)
    import Glibc
#endif

/// A raw disk image: a regular file or a host block device, byte for byte the guest's disk.
///
/// The only file issuing syscalls on the image. Every read and write loops until done, retrying EINTR
/// and continuing after short transfers. With `direct`, O_DIRECT bypasses the host page cache; the
/// guest's buffers and offsets must then be aligned to the host's logical block size, or the I/O fails
/// with EINVAL (reported to the guest as an I/O error).
public final class RawFileBackend: BlockBackend {
    /// linux/falloc.h: keep the file size when punching or zeroing.
    private static let fallocKeepSize: Int32 = 0x01
    /// linux/falloc.h: deallocate the range.
    private static let fallocPunchHole: Int32 = 0x02
    /// linux/falloc.h: make the range read as zeroes, preferably without writing them.
    private static let fallocZeroRange: Int32 = 0x10
    /// O_DIRECT on x86-64 (bits/fcntl-linux.h); Glibc only exports it under _GNU_SOURCE.
    private static let openDirect: Int32 = 0o40000
    /// fallocate(2)'s C signature. Glibc declares the function only under _GNU_SOURCE, which Swift's Glibc
    /// module does not set, so it is looked up by name once (dlsym with RTLD_DEFAULT, a null handle).
    private typealias Fallocate = @convention(c) (Int32, Int32, off_t, off_t) -> Int32
    static let fallocateAddress = Int(bitPattern: dlsym(nil, "fallocate"))
    /// Bytes written per pwrite when zeroes must be written out.
    private static let zeroChunk = 64 * 1024

    public let size: UInt64
    public let isReadOnly: Bool
    private let descriptor: Int32

    /// Opens `path` read-write, or read-only when `readOnly`; `direct` adds O_DIRECT.
    public init(path: String, readOnly: Bool = false, direct: Bool = false) throws(BlockBackendError) {
        var flags = (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC
        if direct { flags |= Self.openDirect }
        let descriptor = open(path, flags)
        guard descriptor >= 0 else { throw .open(path: path, errno: errno) }
        // lseek to the end sizes regular files and block devices alike.
        let end = lseek(descriptor, 0, SEEK_END)
        guard end >= 0 else {
            let code = errno
            close(descriptor)
            throw .systemCall(name: "lseek", offset: 0, errno: code)
        }
        self.descriptor = descriptor
        size = UInt64(end)
        isReadOnly = readOnly
    }

    deinit {
        close(descriptor)
    }

    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
        try checkRange(offset, UInt64(buffer.count))
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let position = offset + UInt64(done)
            let count = pread(descriptor, base + done, buffer.count - done, off_t(position))
            if count < 0 {
                if errno == EINTR { continue }
                throw BlockBackendError.systemCall(name: "pread", offset: position, errno: errno)
            }
            guard count > 0 else { throw BlockBackendError.unexpectedEndOfFile(offset: position) }
            done += count
        }
    }

    public func write(at offset: UInt64, from buffer: UnsafeRawBufferPointer) throws {
        guard !isReadOnly else { throw BlockBackendError.readOnly }
        try checkRange(offset, UInt64(buffer.count))
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let position = offset + UInt64(done)
            let count = pwrite(descriptor, base + done, buffer.count - done, off_t(position))
            if count < 0 {
                if errno == EINTR { continue }
                throw BlockBackendError.systemCall(name: "pwrite", offset: position, errno: errno)
            }
            // pwrite returning 0 for a non-empty buffer would never progress; treat it as out of space.
            guard count > 0 else { throw BlockBackendError.systemCall(name: "pwrite", offset: position, errno: ENOSPC) }
            done += count
        }
    }

    public func flush() throws {
        guard !isReadOnly else { return }
        while fdatasync(descriptor) != 0 {
            if errno == EINTR { continue }
            throw BlockBackendError.systemCall(name: "fdatasync", offset: 0, errno: errno)
        }
    }

    /// Punches a hole (the file keeps its size). Where the file system cannot punch holes, discard is a
    /// hint the guest cannot rely on (virtio 1.2 §5.2.6.2), so it succeeds without effect.
    public func discard(at offset: UInt64, length: UInt64) throws {
        guard !isReadOnly else { throw BlockBackendError.readOnly }
        try checkRange(offset, length)
        guard length > 0 else { return }
        let result = allocate(mode: Self.fallocPunchHole | Self.fallocKeepSize, offset: offset, length: length)
        guard result == 0 || result == EOPNOTSUPP || result == ENOSYS else {
            throw BlockBackendError.systemCall(name: "fallocate(PUNCH_HOLE)", offset: offset, errno: result)
        }
    }

    /// Zeroes with FALLOC_FL_ZERO_RANGE, or by writing zeroes where the file system cannot.
    public func writeZeroes(at offset: UInt64, length: UInt64) throws {
        guard !isReadOnly else { throw BlockBackendError.readOnly }
        try checkRange(offset, length)
        guard length > 0 else { return }
        let result = allocate(mode: Self.fallocZeroRange | Self.fallocKeepSize, offset: offset, length: length)
        if result == 0 { return }
        guard result == EOPNOTSUPP || result == ENOSYS || result == EINVAL else {
            throw BlockBackendError.systemCall(name: "fallocate(ZERO_RANGE)", offset: offset, errno: result)
        }
        let zeroes = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.zeroChunk, alignment: 4096)
        defer { zeroes.deallocate() }
        zeroes.initializeMemory(as: UInt8.self, repeating: 0)
        var done: UInt64 = 0
        while done < length {
            let count = Int(min(UInt64(Self.zeroChunk), length - done))
            try write(at: offset + done, from: UnsafeRawBufferPointer(rebasing: zeroes[0..<count]))
            done += UInt64(count)
        }
    }

    /// fallocate(2), retrying EINTR; returns 0 or the errno (ENOSYS when the C library lacks it).
    private func allocate(mode: Int32, offset: UInt64, length: UInt64) -> Int32 {
        guard let address = UnsafeRawPointer(bitPattern: Self.fallocateAddress) else { return ENOSYS }
        let fallocate = unsafeBitCast(address, to: Fallocate.self)
        while fallocate(descriptor, mode, off_t(offset), off_t(length)) != 0 {
            if errno == EINTR { continue }
            return errno
        }
        return 0
    }

    private func checkRange(_ offset: UInt64, _ length: UInt64) throws(BlockBackendError) {
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard !overflow, end <= size, end <= UInt64(Int64.max) else {
            throw .outOfRange(offset: offset, length: length, size: size)
        }
    }
}
