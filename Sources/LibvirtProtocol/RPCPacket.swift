/// Limits of libvirt's packet framing (virnetprotocol.x).
public enum RPCLimits {
    /// The length word that starts every packet; it counts itself (VIR_NET_MESSAGE_LEN_MAX).
    public static let lengthWordSize = 4
    /// Header plus payload may not exceed this (VIR_NET_MESSAGE_MAX, 32 MiB).
    public static let maxMessageSize = 33_554_432
    /// Payload bytes after the header (VIR_NET_MESSAGE_PAYLOAD_MAX).
    public static let maxPayloadSize = maxMessageSize - RPCHeader.encodedSize
    /// Long strings (VIR_NET_MESSAGE_STRING_MAX, REMOTE_STRING_MAX: 4 MiB).
    public static let maxStringLength = 4_194_304
    /// The smallest packet that can be valid: length word plus header.
    public static let minPacketLength = lengthWordSize + RPCHeader.encodedSize
    /// The largest packet length word we accept.
    public static let maxPacketLength = lengthWordSize + maxMessageSize
}

/// Why a packet's length word cannot start a packet.
public enum RPCFramingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Shorter than the length word plus a header.
    case packetTooSmall(length: UInt32)
    /// Longer than VIR_NET_MESSAGE_MAX allows.
    case packetTooLarge(length: UInt32)

    public var description: String {
        switch self {
        case .packetTooSmall(let length):
            return "packet \(length) bytes received too small, want at least \(RPCLimits.minPacketLength)"
        case .packetTooLarge(let length):
            return "packet \(length) bytes received too large, want at most \(RPCLimits.maxPacketLength)"
        }
    }

    /// Checks a packet's length word (which includes itself) and returns the number of bytes that follow it.
    public static func bodyLength(ofPacketLength length: UInt32) throws(RPCFramingError) -> Int {
        guard Int(length) >= RPCLimits.minPacketLength else { throw .packetTooSmall(length: length) }
        guard Int(length) <= RPCLimits.maxPacketLength else { throw .packetTooLarge(length: length) }
        return Int(length) - RPCLimits.lengthWordSize
    }
}

/// One libvirt RPC packet without its length word: a header and the XDR payload that follows it.
public struct RPCPacket: Hashable, Sendable {
    public var header: RPCHeader
    public var payload: [UInt8]

    public init(header: RPCHeader, payload: [UInt8] = []) {
        self.header = header
        self.payload = payload
    }

    /// Builds a packet whose payload is `body` in XDR.
    public init(header: RPCHeader, body: some XDREncodable) throws(XDREncodingError) {
        self.init(header: header, payload: try XDREncoder.encode(body))
    }

    /// Splits a packet body (the bytes after the length word) into header and payload.
    public init(body: [UInt8]) throws(XDRDecodingError) {
        var decoder = XDRDecoder(bytes: body)
        header = try RPCHeader(from: &decoder)
        payload = Array(body[decoder.offset...])
    }

    /// Decodes the payload as `type`, rejecting trailing bytes.
    public func decodePayload<T: XDRDecodable>(as type: T.Type) throws(XDRDecodingError) -> T {
        try XDRDecoder.decode(type, from: payload)
    }

    /// The packet as sent on the wire, starting with its length word.
    public func serialized() throws(XDREncodingError) -> [UInt8] {
        let total = RPCLimits.minPacketLength + payload.count
        guard payload.count <= RPCLimits.maxPayloadSize else {
            throw .lengthExceedsLimit(length: payload.count, limit: RPCLimits.maxPayloadSize)
        }
        var encoder = XDREncoder(reservingCapacity: total)
        encoder.encode(UInt32(total))
        try header.encode(to: &encoder)
        var bytes = encoder.bytes
        bytes.append(contentsOf: payload)
        return bytes
    }

    /// A successful reply to `call` carrying `body`.
    public static func reply(to call: RPCHeader, body: some XDREncodable) throws(XDREncodingError) -> RPCPacket {
        try RPCPacket(header: call.reply(status: .ok), body: body)
    }

    /// An error reply to `call`: status ERROR with a `virNetMessageError` payload.
    public static func errorReply(to call: RPCHeader, error: RemoteError) -> RPCPacket {
        let payload: [UInt8]
        do {
            payload = try XDREncoder.encode(error)
        } catch _ {
            // Only over-long strings can fail: keep the code and the start of the message.
            let shortened = RemoteError(
                code: error.code, domain: error.domain, level: error.level,
                message: String(decoding: (error.message ?? "").utf8.prefix(1024), as: UTF8.self))
            payload = (try? XDREncoder.encode(shortened)) ?? []
        }
        return RPCPacket(header: call.reply(status: .error), payload: payload)
    }
}
