/// Big-endian field access on byte arrays: every qcow2 number is big-endian (qcow2 spec "General").
///
/// Callers validate lengths first; an index outside the array is a bug here, caught by `assert` in debug
/// builds, and in release reads as zero / writes nothing instead of trapping on a hostile file.
extension Array where Element == UInt8 {
    func bigEndian64(at index: Int) -> UInt64 { bigEndianValue(at: index, width: 8) }
    func bigEndian32(at index: Int) -> UInt32 { UInt32(truncatingIfNeeded: bigEndianValue(at: index, width: 4)) }
    func bigEndian16(at index: Int) -> UInt16 { UInt16(truncatingIfNeeded: bigEndianValue(at: index, width: 2)) }

    mutating func storeBigEndian64(_ value: UInt64, at index: Int) { storeBigEndian(value, at: index, width: 8) }
    mutating func storeBigEndian32(_ value: UInt32, at index: Int) {
        storeBigEndian(UInt64(value), at: index, width: 4)
    }
    mutating func storeBigEndian16(_ value: UInt16, at index: Int) {
        storeBigEndian(UInt64(value), at: index, width: 2)
    }

    /// Bytes [index, index+count) as a string, stopping at the first NUL; invalid UTF-8 is repaired.
    func string(at index: Int, count: Int) -> String {
        guard index >= 0, count >= 0, index <= self.count - count else {
            assert(false, "string field outside buffer")
            return ""
        }
        let field = self[index..<index + count]
        let end = field.firstIndex(of: 0) ?? field.endIndex
        return String(decoding: field[field.startIndex..<end], as: UTF8.self)
    }

    private func bigEndianValue(at index: Int, width: Int) -> UInt64 {
        guard index >= 0, index <= count - width else {
            assert(false, "big-endian field at \(index) outside a \(count)-byte buffer")
            return 0
        }
        var value: UInt64 = 0
        for byte in self[index..<index + width] { value = value << 8 | UInt64(byte) }
        return value
    }

    private mutating func storeBigEndian(_ value: UInt64, at index: Int, width: Int) {
        guard index >= 0, index <= count - width else {
            assert(false, "big-endian field at \(index) outside a \(count)-byte buffer")
            return
        }
        for position in 0..<width {
            self[index + position] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(width - 1 - position)))
        }
    }
}

/// `withUnsafeBytes` for bodies with typed throws (the standard library's versions rethrow `any Error`).
extension Array where Element == UInt8 {
    @discardableResult
    func withBytes<Result>(
        _ body: (UnsafeRawBufferPointer) throws(DiskImageError) -> Result
    ) throws(DiskImageError) -> Result {
        let outcome: Swift.Result<Result, DiskImageError> = withUnsafeBytes { buffer in
            Swift.Result { () throws(DiskImageError) in try body(buffer) }
        }
        return try outcome.get()
    }

    @discardableResult
    mutating func withMutableBytes<Result>(
        _ body: (UnsafeMutableRawBufferPointer) throws(DiskImageError) -> Result
    ) throws(DiskImageError) -> Result {
        let outcome: Swift.Result<Result, DiskImageError> = withUnsafeMutableBytes { buffer in
            Swift.Result { () throws(DiskImageError) in try body(buffer) }
        }
        return try outcome.get()
    }
}
