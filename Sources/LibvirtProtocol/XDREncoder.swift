/// Writes XDR (RFC 4506): big-endian 4-byte units, items padded with zeros to a multiple of 4.
/// Lengths beyond the protocol's declared maximum are refused, since the peer would reject them.
public struct XDREncoder: Sendable {
    public private(set) var bytes: [UInt8]

    public init(reservingCapacity capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(max(capacity, 0))
    }

    /// Encodes one value into a fresh byte array.
    public static func encode(_ value: some XDREncodable) throws(XDREncodingError) -> [UInt8] {
        var encoder = XDREncoder()
        try value.encode(to: &encoder)
        return encoder.bytes
    }

    private mutating func pad(after length: Int) {
        let padding = (4 - length % 4) % 4
        for _ in 0..<padding { bytes.append(0) }
    }

    public mutating func encode(_ value: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 24))
        bytes.append(UInt8(truncatingIfNeeded: value >> 16))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    public mutating func encode(_ value: Int32) {
        encode(UInt32(bitPattern: value))
    }

    /// XDR "unsigned hyper" (§4.5).
    public mutating func encode(_ value: UInt64) {
        encode(UInt32(truncatingIfNeeded: value >> 32))
        encode(UInt32(truncatingIfNeeded: value))
    }

    /// XDR "hyper" (§4.5).
    public mutating func encode(_ value: Int64) {
        encode(UInt64(bitPattern: value))
    }

    /// XDR bool (§4.4).
    public mutating func encode(_ value: Bool) {
        encode(value ? UInt32(1) : UInt32(0))
    }

    /// Fixed-length opaque (§4.9); `value` must have exactly `count` bytes.
    public mutating func encodeFixedOpaque(_ value: [UInt8], count: Int) throws(XDREncodingError) {
        guard value.count == count else { throw .wrongFixedLength(length: value.count, expected: count) }
        bytes.append(contentsOf: value)
        pad(after: count)
    }

    private mutating func encodeLength(_ length: Int, limit: Int) throws(XDREncodingError) {
        guard length <= limit, length <= Int(UInt32.max) else {
            throw .lengthExceedsLimit(length: length, limit: limit)
        }
        encode(UInt32(length))
    }

    /// Variable-length opaque (§4.10) of at most `maxLength` bytes.
    public mutating func encodeOpaque(_ value: [UInt8], maxLength: Int) throws(XDREncodingError) {
        try encodeLength(value.count, limit: maxLength)
        bytes.append(contentsOf: value)
        pad(after: value.count)
    }

    /// String (§4.11) of at most `maxLength` UTF-8 bytes.
    public mutating func encodeString(_ value: String, maxLength: Int) throws(XDREncodingError) {
        let utf8 = value.utf8
        try encodeLength(utf8.count, limit: maxLength)
        bytes.append(contentsOf: utf8)
        pad(after: utf8.count)
    }

    /// Optional data (§4.19): a bool, then the value if present.
    public mutating func encodeOptional<T>(
        _ value: T?, _ encodeValue: (inout XDREncoder, T) throws(XDREncodingError) -> Void
    ) throws(XDREncodingError) {
        guard let value else {
            encode(false)
            return
        }
        encode(true)
        try encodeValue(&self, value)
    }

    /// Variable-length array (§4.13) of at most `maxCount` elements.
    public mutating func encodeArray<T>(
        _ values: [T], maxCount: Int, _ encodeElement: (inout XDREncoder, T) throws(XDREncodingError) -> Void
    ) throws(XDREncodingError) {
        try encodeLength(values.count, limit: maxCount)
        for value in values { try encodeElement(&self, value) }
    }

    public mutating func encode(_ value: some XDREncodable) throws(XDREncodingError) {
        try value.encode(to: &self)
    }
}
