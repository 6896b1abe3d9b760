/// `virNetMessageType` (virnetprotocol.x). Kept as a raw value so a header with an undefined type
/// still decodes and can be answered with an error instead of being dropped.
public struct RPCMessageType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Client → server method call.
    public static let call = RPCMessageType(rawValue: 0)
    /// Server → client reply or error for a call.
    public static let reply = RPCMessageType(rawValue: 1)
    /// Asynchronous notification either way (events, keepalive).
    public static let message = RPCMessageType(rawValue: 2)
    /// Stream data either way.
    public static let stream = RPCMessageType(rawValue: 3)
    /// A call with file descriptors passed alongside.
    public static let callWithFDs = RPCMessageType(rawValue: 4)
    /// A reply with file descriptors passed alongside.
    public static let replyWithFDs = RPCMessageType(rawValue: 5)
    /// A hole in sparse stream data.
    public static let streamHole = RPCMessageType(rawValue: 6)

    public var description: String {
        switch self {
        case .call: return "CALL"
        case .reply: return "REPLY"
        case .message: return "MESSAGE"
        case .stream: return "STREAM"
        case .callWithFDs: return "CALL_WITH_FDS"
        case .replyWithFDs: return "REPLY_WITH_FDS"
        case .streamHole: return "STREAM_HOLE"
        default: return "type \(rawValue)"
        }
    }
}

/// `virNetMessageStatus` (virnetprotocol.x): always OK for calls; ERROR means the payload is a
/// `virNetMessageError`; CONTINUE marks more stream data to come.
public struct RPCMessageStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let ok = RPCMessageStatus(rawValue: 0)
    public static let error = RPCMessageStatus(rawValue: 1)
    public static let `continue` = RPCMessageStatus(rawValue: 2)

    public var description: String {
        switch self {
        case .ok: return "OK"
        case .error: return "ERROR"
        case .continue: return "CONTINUE"
        default: return "status \(rawValue)"
        }
    }
}

/// `virNetMessageHeader`: six 4-byte words after the length word of every packet.
public struct RPCHeader: XDRCodable, Hashable {
    /// Serialised size (VIR_NET_MESSAGE_HEADER_MAX).
    public static let encodedSize = 24

    public var program: UInt32
    public var version: UInt32
    public var procedure: Int32
    public var type: RPCMessageType
    public var serial: UInt32
    public var status: RPCMessageStatus

    public init(
        program: UInt32, version: UInt32, procedure: Int32, type: RPCMessageType, serial: UInt32,
        status: RPCMessageStatus
    ) {
        self.program = program
        self.version = version
        self.procedure = procedure
        self.type = type
        self.serial = serial
        self.status = status
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        program = try decoder.decodeUInt32()
        version = try decoder.decodeUInt32()
        procedure = try decoder.decodeInt32()
        type = RPCMessageType(rawValue: try decoder.decodeInt32())
        serial = try decoder.decodeUInt32()
        status = RPCMessageStatus(rawValue: try decoder.decodeInt32())
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        encoder.encode(program)
        encoder.encode(version)
        encoder.encode(procedure)
        encoder.encode(type.rawValue)
        encoder.encode(serial)
        encoder.encode(status.rawValue)
    }

    /// The header of the reply to this call: same program, version, procedure and serial.
    public func reply(status: RPCMessageStatus = .ok) -> RPCHeader {
        RPCHeader(
            program: program, version: version, procedure: procedure, type: .reply, serial: serial,
            status: status)
    }
}
