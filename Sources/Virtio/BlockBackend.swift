/// Storage behind a block device: a byte-addressed disk of fixed `size`.
///
/// Callers keep every range inside [0, size); implementations check again and throw rather than extend
/// or trap. Calls may come from several threads at once.
public protocol BlockBackend: AnyObject, Sendable {
    /// Disk size in bytes.
    var size: UInt64 { get }
    /// Writes, discards and write-zeroes are refused.
    var isReadOnly: Bool { get }
    /// Fills `buffer` from the disk at `offset`.
    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws
    /// Writes `buffer` to the disk at `offset`.
    func write(at offset: UInt64, from buffer: UnsafeRawBufferPointer) throws
    /// Makes completed writes durable.
    func flush() throws
    /// Tells the disk [offset, offset+length) is unused; its contents become unspecified.
    func discard(at offset: UInt64, length: UInt64) throws
    /// Makes [offset, offset+length) read as zeroes.
    func writeZeroes(at offset: UInt64, length: UInt64) throws
}
