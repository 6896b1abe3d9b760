/// Reads XDR (RFC 4506) from bytes a peer sent: big-endian 4-byte units, every item padded to a
/// multiple of 4. All lengths are checked against the declared maximum and against the bytes actually
/// remaining *before* anything is allocated, so a lying length costs nothing.
public struct XDRDecoder: Sendable {
    public let bytes: [UInt8]
    /// Index of the next unread byte.
    public private(set) var offset: Int

    public init(bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = min(max(offset, 0), bytes.count)
    }

    public var remaining: Int { bytes.count - offset }

    /// Decodes one complete value and rejects leftover bytes.
    public static func decode<T: XDRDecodable>(_ type: T.Type, from bytes: [UInt8]) throws(XDRDecodingError) -> T {
        var decoder = XDRDecoder(bytes: bytes)
        let value = try T(from: &decoder)
        try decoder.finish()
        return value
    }

    /// Throws if bytes remain: a message must be consumed exactly.
    public func finish() throws(XDRDecodingError) {
        if remaining != 0 { throw .trailingBytes(offset: offset, count: remaining) }
    }

    private mutating func require(_ count: Int) throws(XDRDecodingError) {
        if count > remaining { throw .truncated(offset: offset, needed: count, available: remaining) }
    }

    /// Skips padding that rounds `length` up to a multiple of 4 (RFC 4506 §4.9).
    private mutating func skipPadding(after length: Int) throws(XDRDecodingError) {
        let padding = (4 - length % 4) % 4
        try require(padding)
        offset += padding
    }

    public mutating func decodeUInt32() throws(XDRDecodingError) -> UInt32 {
        try require(4)
        let value =
            UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
            | UInt32(bytes[offset + 3])
        offset += 4
        return value
    }

    public mutating func decodeInt32() throws(XDRDecodingError) -> Int32 {
        Int32(bitPattern: try decodeUInt32())
    }

    /// XDR "unsigned hyper" (§4.5).
    public mutating func decodeUInt64() throws(XDRDecodingError) -> UInt64 {
        try require(8)
        let high = UInt64(try decodeUInt32())
        let low = UInt64(try decodeUInt32())
        return high << 32 | low
    }

    /// XDR "hyper" (§4.5).
    public mutating func decodeInt64() throws(XDRDecodingError) -> Int64 {
        Int64(bitPattern: try decodeUInt64())
    }

    /// XDR bool (§4.4): exactly 0 or 1.
    public mutating func decodeBool() throws(XDRDecodingError) -> Bool {
        let at = offset
        switch try decodeUInt32() {
        case 0: return false
        case 1: return true
        case let value: throw .invalidBool(offset: at, value: value)
        }
    }

    /// Fixed-length opaque (§4.9): `count` bytes plus padding.
    public mutating func decodeFixedOpaque(count: Int) throws(XDRDecodingError) -> [UInt8] {
        try require(count)
        let value = Array(bytes[offset..<offset + count])
        offset += count
        try skipPadding(after: count)
        return value
    }

    /// Reads a length word and checks it against `limit` and the bytes left, before allocating.
    private mutating func decodeLength(limit: Int, minimumElementSize: Int) throws(XDRDecodingError) -> Int {
        let at = offset
        let length = try decodeUInt32()
        guard UInt64(length) <= UInt64(max(limit, 0)) else {
            throw .lengthExceedsLimit(offset: at, length: length, limit: limit)
        }
        let count = Int(length)
        let (needed, overflow) = count.multipliedReportingOverflow(by: max(minimumElementSize, 0))
        if overflow || needed > remaining {
            throw .truncated(offset: offset, needed: overflow ? Int.max : needed, available: remaining)
        }
        return count
    }

    /// Variable-length opaque (§4.10) of at most `maxLength` bytes.
    public mutating func decodeOpaque(maxLength: Int) throws(XDRDecodingError) -> [UInt8] {
        let count = try decodeLength(limit: maxLength, minimumElementSize: 1)
        return try decodeFixedOpaque(count: count)
    }

    /// String (§4.11) of at most `maxLength` bytes. libvirt strings are C strings in UTF-8; invalid
    /// sequences are replaced rather than rejected, as a C peer would carry them through.
    public mutating func decodeString(maxLength: Int) throws(XDRDecodingError) -> String {
        let count = try decodeLength(limit: maxLength, minimumElementSize: 1)
        let value = String(decoding: bytes[offset..<offset + count], as: UTF8.self)
        offset += count
        try skipPadding(after: count)
        return value
    }

    /// Optional data (§4.19, a pointer in rpcgen's C): a bool, then the value if true.
    public mutating func decodeOptional<T>(
        _ decodeValue: (inout XDRDecoder) throws(XDRDecodingError) -> T
    ) throws(XDRDecodingError) -> T? {
        try decodeBool() ? try decodeValue(&self) : nil
    }

    /// Variable-length array (§4.13) of at most `maxCount` elements. Every element of the protocols we
    /// speak takes at least one 4-byte unit, so a count larger than the remaining units is rejected
    /// before any storage is reserved.
    public mutating func decodeArray<T>(
        maxCount: Int, minimumElementSize: Int = 4,
        _ decodeElement: (inout XDRDecoder) throws(XDRDecodingError) -> T
    ) throws(XDRDecodingError) -> [T] {
        let count = try decodeLength(limit: maxCount, minimumElementSize: minimumElementSize)
        var values: [T] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try decodeElement(&self)) }
        return values
    }

    public mutating func decode<T: XDRDecodable>(_ type: T.Type = T.self) throws(XDRDecodingError) -> T {
        try T(from: &self)
    }
}
