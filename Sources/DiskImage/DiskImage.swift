/// A virtual disk backed by an image file. Implementations are thread-safe.
///
/// Offsets and lengths are bytes of the virtual disk; every range must lie inside [0, virtualSize),
/// otherwise the call throws `DiskImageError.outOfRange`. Nothing here traps on a hostile image.
public protocol DiskImage: AnyObject, Sendable {
    /// The on-disk format.
    var format: DiskImageFormat { get }
    /// Size of the virtual disk in bytes.
    var virtualSize: UInt64 { get }
    /// Writes, discards, zeroing and repairs are refused.
    var isReadOnly: Bool { get }
    /// Fills `buffer` with the disk's bytes at `offset`.
    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(DiskImageError)
    /// Stores `buffer` at `offset`.
    func write(at offset: UInt64, from buffer: UnsafeRawBufferPointer) throws(DiskImageError)
    /// Makes all completed writes durable (metadata first, in crash-safe order, then fdatasync).
    func flush() throws(DiskImageError)
    /// Tells the image the range is unused; its contents become unspecified (qcow2: whole clusters read
    /// as zeroes afterwards, partial clusters are left alone).
    func discard(at offset: UInt64, length: UInt64) throws(DiskImageError)
    /// Makes the range read as zeroes, without writing data where the format allows.
    func writeZeroes(at offset: UInt64, length: UInt64) throws(DiskImageError)
    /// The status of the extent starting at `offset` (for `map`): data, zero or unallocated, which layer of
    /// the backing chain provides it, and the host offset when known. `length` bounds the extent.
    func blockStatus(at offset: UInt64, length: UInt64) throws(DiskImageError) -> BlockStatus
}

extension DiskImage {
    /// Throws unless [offset, offset+length) lies inside the virtual disk.
    func checkRange(_ offset: UInt64, _ length: UInt64) throws(DiskImageError) {
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard !overflow, end <= virtualSize else {
            throw .outOfRange(offset: offset, length: length, size: virtualSize)
        }
    }
}
