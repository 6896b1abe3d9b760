import Synchronization

/// A raw image: the file is the disk, byte for byte. Holes read as zeroes and are reported as such by
/// `blockStatus` (SEEK_DATA/SEEK_HOLE).
public final class RawImage: DiskImage, @unchecked Sendable {
    public let path: String
    public let isReadOnly: Bool
    public var format: DiskImageFormat { .raw }
    public var virtualSize: UInt64 { size.load(ordering: .acquiring) }

    private let file: ImageFile
    private let size: Atomic<UInt64>

    /// Opens an existing raw image (a regular file or block device), locked for `sharing`. Without
    /// `followSymlinks`, `path` must name a regular file itself, not a symbolic link.
    public init(
        path: String, readOnly: Bool = false, sharing: ImageSharing = .standard, followSymlinks: Bool = true
    ) throws(DiskImageError) {
        file = try ImageFile(
            path: path, readOnly: readOnly, locks: try sharing.locks(format: .raw, readOnly: readOnly),
            followSymlinks: followSymlinks)
        size = Atomic(try file.length())
        self.path = path
        self.isReadOnly = readOnly
    }

    /// Creates (or truncates) a raw image of `size` bytes. `metadata` preallocation does not apply to raw.
    /// With `existingFile`, writes it into that file, which `path` must name without a symbolic link
    /// (see `ImageFile.init(creating:existing:)`).
    public static func create(
        path: String, size: UInt64, preallocation: ImagePreallocation = .off, existingFile: FileIdentity? = nil
    ) throws(DiskImageError) {
        guard size <= ImageFile.maximumOffset else { throw .invalidArgument("Image size is too large") }
        let file = try ImageFile(creating: path, existing: existingFile)
        switch preallocation {
        case .off:
            try file.truncate(to: size)
        case .falloc:
            try file.truncate(to: size)
            try file.reserve(offset: 0, length: size)
        case .full:
            let zeroes = [UInt8](repeating: 0, count: 1 << 20)
            var done: UInt64 = 0
            while done < size {
                let count = Int(min(size - done, UInt64(zeroes.count)))
                try zeroes.withBytes { (buffer) throws(DiskImageError) in
                    try file.write(at: done, from: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                }
                done += UInt64(count)
            }
        case .metadata:
            throw .invalidArgument("Unsupported preallocation mode 'metadata' for raw images")
        }
        try file.synchronize()
    }

    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(DiskImageError) {
        try checkRange(offset, UInt64(buffer.count))
        try file.read(at: offset, into: buffer)
    }

    public func write(at offset: UInt64, from buffer: UnsafeRawBufferPointer) throws(DiskImageError) {
        guard !isReadOnly else { throw .readOnly }
        try checkRange(offset, UInt64(buffer.count))
        try file.write(at: offset, from: buffer)
    }

    public func flush() throws(DiskImageError) {
        guard !isReadOnly else { return }
        try file.synchronize()
    }

    /// Punches a hole where the file system can; otherwise a no-op (discard is a hint).
    public func discard(at offset: UInt64, length: UInt64) throws(DiskImageError) {
        guard !isReadOnly else { throw .readOnly }
        try checkRange(offset, length)
        file.punchHole(offset: offset, length: length)
    }

    public func writeZeroes(at offset: UInt64, length: UInt64) throws(DiskImageError) {
        guard !isReadOnly else { throw .readOnly }
        try checkRange(offset, length)
        guard length > 0, !file.zeroRange(offset: offset, length: length) else { return }
        let zeroes = [UInt8](repeating: 0, count: Int(min(length, 1 << 20)))
        var done: UInt64 = 0
        while done < length {
            let count = Int(min(length - done, UInt64(zeroes.count)))
            try zeroes.withBytes { (buffer) throws(DiskImageError) in
                try file.write(at: offset + done, from: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            }
            done += UInt64(count)
        }
    }

    /// Data up to the next hole, or a hole up to the next data.
    public func blockStatus(at offset: UInt64, length: UInt64) throws(DiskImageError) -> BlockStatus {
        try checkRange(offset, length)
        guard length > 0 else { throw .invalidArgument("block status of an empty range") }
        let end = offset + length
        if let data = file.nextData(from: offset), data > offset {
            return BlockStatus(kind: .zero, length: min(data, end) - offset, depth: 0, hostOffset: offset)
        }
        if let hole = file.nextHole(from: offset), hole > offset {
            return BlockStatus(kind: .data, length: min(hole, end) - offset, depth: 0, hostOffset: offset)
        }
        // No data after `offset` (a hole to the end), or the file system cannot tell: one extent.
        let fileLength = try file.length()
        let isHole = file.nextData(from: offset) == nil && offset < fileLength
        return BlockStatus(kind: isHole ? .zero : .data, length: length, depth: 0, hostOffset: offset)
    }

    /// Changes the size (ftruncate). Growing reads as zeroes.
    public func resize(to newSize: UInt64) throws(DiskImageError) {
        guard !isReadOnly else { throw .readOnly }
        try file.truncate(to: newSize)
        size.store(newSize, ordering: .releasing)
    }
}
