/// Why bytes from a peer are not a valid XDR value (RFC 4506). Every decode failure is one of these;
/// the decoder never traps on any input.
public enum XDRDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The value at `offset` needs `needed` bytes but only `available` remain.
    case truncated(offset: Int, needed: Int, available: Int)
    /// A string, opaque or array length is larger than the limit the protocol declares for it.
    case lengthExceedsLimit(offset: Int, length: UInt32, limit: Int)
    /// An XDR bool (also the discriminant of an optional) that is neither 0 nor 1 (RFC 4506 §4.4).
    case invalidBool(offset: Int, value: UInt32)
    /// An enum value the protocol does not define.
    case invalidEnum(offset: Int, type: String, value: Int32)
    /// A message decoded completely but bytes were left over.
    case trailingBytes(offset: Int, count: Int)

    public var description: String {
        switch self {
        case .truncated(let offset, let needed, let available):
            return "XDR value at offset \(offset) needs \(needed) bytes but only \(available) remain"
        case .lengthExceedsLimit(let offset, let length, let limit):
            return "XDR length \(length) at offset \(offset) exceeds the limit of \(limit)"
        case .invalidBool(let offset, let value):
            return "XDR bool at offset \(offset) is \(value), not 0 or 1"
        case .invalidEnum(let offset, let type, let value):
            return "XDR enum \(type) at offset \(offset) has undefined value \(value)"
        case .trailingBytes(let offset, let count):
            return "\(count) unexpected bytes after the XDR message at offset \(offset)"
        }
    }
}

/// Why a value cannot be put on the wire: the peer would reject it, so we refuse to send it.
public enum XDREncodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A string, opaque or array is longer than the protocol's declared maximum.
    case lengthExceedsLimit(length: Int, limit: Int)
    /// A fixed-length opaque was given the wrong number of bytes.
    case wrongFixedLength(length: Int, expected: Int)

    public var description: String {
        switch self {
        case .lengthExceedsLimit(let length, let limit):
            return "XDR value of length \(length) exceeds the limit of \(limit)"
        case .wrongFixedLength(let length, let expected):
            return "fixed-length XDR opaque has \(length) bytes, expected \(expected)"
        }
    }
}
