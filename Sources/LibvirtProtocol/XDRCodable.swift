/// A value with an XDR wire form (the layouts of libvirt's `.x` protocol files).
public protocol XDREncodable: Sendable {
    func encode(to encoder: inout XDREncoder) throws(XDREncodingError)
}

/// A value that can be read from bytes a peer sent; decoding never traps.
public protocol XDRDecodable: Sendable {
    init(from decoder: inout XDRDecoder) throws(XDRDecodingError)
}

public typealias XDRCodable = XDRDecodable & XDREncodable

/// The empty argument or reply (rpcgen's `void`).
public struct XDRVoid: XDRCodable, Equatable {
    public init() {}
    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {}
    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {}
}

extension XDRDecoder {
    /// rpcgen's `char name<max>` and `char name[n]`: each char travels as a full 4-byte int (xdr_char).
    mutating func decodeCharacters(count: Int) throws(XDRDecodingError) -> [UInt8] {
        var characters: [UInt8] = []
        let (needed, overflow) = count.multipliedReportingOverflow(by: 4)
        if overflow || needed > remaining {
            throw .truncated(offset: offset, needed: overflow ? Int.max : needed, available: remaining)
        }
        characters.reserveCapacity(count)
        for _ in 0..<count { characters.append(UInt8(truncatingIfNeeded: try decodeInt32())) }
        return characters
    }

    mutating func decodeCharacterArray(maxCount: Int) throws(XDRDecodingError) -> [UInt8] {
        try decodeArray(maxCount: maxCount) { (decoder: inout XDRDecoder) throws(XDRDecodingError) in
            UInt8(truncatingIfNeeded: try decoder.decodeInt32())
        }
    }
}

extension XDREncoder {
    mutating func encodeCharacters(_ characters: [UInt8]) {
        for character in characters { encode(Int32(Int8(bitPattern: character))) }
    }

    mutating func encodeCharacterArray(_ characters: [UInt8], maxCount: Int) throws(XDREncodingError) {
        try encodeArray(characters, maxCount: maxCount) { encoder, character in
            encoder.encode(Int32(Int8(bitPattern: character)))
        }
    }
}
