/// Little-endian field access on byte arrays, for the fixed-layout structures guests and boot protocols
/// define (boot_params, hvm_start_info, ACPI tables, ELF headers, exception frames, the XSAVE area).
/// Reads are bounds-checked and return nil when the field does not fit, so hostile input can never trap.
extension Array where Element == UInt8 {
    /// The little-endian integer at `offset`, or nil when [offset, offset+size) is not inside the array.
    public func littleEndian<T: FixedWidthInteger>(_: T.Type = T.self, at offset: Int) -> T? {
        let size = MemoryLayout<T>.size
        guard offset >= 0, offset <= count - size else { return nil }
        var value: T = 0
        for index in 0..<size {
            value |= T(truncatingIfNeeded: self[offset + index]) << (8 * index)
        }
        return value
    }

    /// Stores `value` little-endian at `offset`. Callers build fixed-size tables, so the offset is
    /// always in range; the precondition guards against a mistake in our own layout constants.
    public mutating func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        let size = MemoryLayout<T>.size
        precondition(offset >= 0 && offset <= count - size, "layout constant out of range")
        for index in 0..<size {
            self[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index))
        }
    }

    /// Copies `bytes` to `offset` (fixed layout, see `put`).
    public mutating func put(bytes: some Collection<UInt8>, at offset: Int) {
        precondition(offset >= 0 && offset <= count - bytes.count, "layout constant out of range")
        replaceSubrange(offset..<(offset + bytes.count), with: bytes)
    }

    /// `count` bytes starting at `offset`, or nil when they are not all inside the array.
    public func slice(at offset: UInt64, count length: UInt64) -> ArraySlice<UInt8>? {
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard !overflow, end <= UInt64(count) else { return nil }
        return self[Int(offset)..<Int(end)]
    }
}

extension UInt64 {
    /// `self` rounded up to a multiple of `alignment` (a power of two), or nil on overflow.
    public func alignedUp(to alignment: UInt64) -> UInt64? {
        let (sum, overflow) = addingReportingOverflow(alignment - 1)
        return overflow ? nil : sum & ~(alignment - 1)
    }

    /// `self` rounded down to a multiple of `alignment` (a power of two).
    public func alignedDown(to alignment: UInt64) -> UInt64 { self & ~(alignment - 1) }
}
