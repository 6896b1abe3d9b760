/// Random access to a kernel or initrd image. The loader reads headers through `read(at:count:)` and
/// copies payloads with `read(at:into:)` straight into guest RAM, so a file-backed source never holds
/// the whole image in the VMM's memory.
public protocol BootFileSource: Sendable {
    /// Bytes in the image.
    var size: UInt64 { get }
    /// Exactly `count` bytes from `offset`; throws when [offset, offset+count) is not inside the image.
    func read(at offset: UInt64, count: Int) throws -> [UInt8]
    /// Fills all of `buffer` from `offset`; throws when the range is not inside the image.
    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws
}

/// An image already in memory: synthetic kernels in tests, or a caller that has the bytes anyway.
extension Array: BootFileSource where Element == UInt8 {
    public var size: UInt64 { UInt64(count) }

    public func read(at offset: UInt64, count length: Int) throws -> [UInt8] {
        guard length >= 0, let bytes = slice(at: offset, count: UInt64(length)) else {
            throw BootFileError.outOfRange(offset: offset, count: UInt64(Swift.max(length, 0)), size: size)
        }
        return Array(bytes)
    }

    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
        guard let bytes = slice(at: offset, count: UInt64(buffer.count)) else {
            throw BootFileError.outOfRange(offset: offset, count: UInt64(buffer.count), size: size)
        }
        buffer.copyBytes(from: bytes)
    }
}
