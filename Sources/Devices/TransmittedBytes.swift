/// Up to 8 bytes the UART sent during one bus access, held in a register-sized value so the vCPU path does not
/// allocate. The UART hands them to its output sink after releasing its lock.
struct TransmittedBytes: Sequence, IteratorProtocol {
    /// One bus access is at most 8 bytes wide, so at most 8 THR writes.
    static let capacity = 8

    private var packed: UInt64 = 0
    private(set) var count = 0

    /// Keeps `byte`; beyond `capacity` bytes are dropped (a bus access cannot produce more).
    mutating func append(_ byte: UInt8) {
        guard count < TransmittedBytes.capacity else { return }
        packed |= UInt64(byte) << UInt64(8 * count)
        count += 1
    }

    /// Yields the bytes in the order they were written.
    mutating func next() -> UInt8? {
        guard count > 0 else { return nil }
        let byte = UInt8(truncatingIfNeeded: packed)
        packed >>= 8
        count -= 1
        return byte
    }
}
