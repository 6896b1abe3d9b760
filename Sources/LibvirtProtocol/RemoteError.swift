/// `virNetMessageError` (virnetprotocol.x): the payload of every reply with status ERROR. Fields
/// mirror `virError`; `dom` and `net` are unused by libvirt and always sent as absent.
public struct RemoteError: XDRCodable, Hashable {
    public var code: LibvirtErrorCode
    public var domain: LibvirtErrorDomain
    public var message: String?
    public var level: LibvirtErrorLevel
    /// The object the error was about (unused on the wire: libvirt sends it absent).
    public var errorDomain: RemoteDomain?
    public var str1: String?
    public var str2: String?
    public var str3: String?
    public var int1: Int32
    public var int2: Int32
    /// The network the error was about (unused: always absent).
    public var network: RemoteNetwork?

    public init(
        code: LibvirtErrorCode, domain: LibvirtErrorDomain, level: LibvirtErrorLevel = .error, message: String?,
        str1: String? = nil, str2: String? = nil, str3: String? = nil, int1: Int32 = 0, int2: Int32 = 0
    ) {
        self.code = code
        self.domain = domain
        self.message = message
        self.level = level
        self.str1 = str1
        self.str2 = str2
        self.str3 = str3
        self.int1 = int1
        self.int2 = int2
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        code = LibvirtErrorCode(rawValue: try decoder.decodeInt32())
        domain = LibvirtErrorDomain(rawValue: try decoder.decodeInt32())
        message = try decoder.decodeOptionalString()
        level = LibvirtErrorLevel(rawValue: try decoder.decodeInt32())
        errorDomain = try decoder.decodeOptional { (decoder: inout XDRDecoder) throws(XDRDecodingError) in
            try RemoteDomain(from: &decoder)
        }
        str1 = try decoder.decodeOptionalString()
        str2 = try decoder.decodeOptionalString()
        str3 = try decoder.decodeOptionalString()
        int1 = try decoder.decodeInt32()
        int2 = try decoder.decodeInt32()
        network = try decoder.decodeOptional { (decoder: inout XDRDecoder) throws(XDRDecodingError) in
            try RemoteNetwork(from: &decoder)
        }
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        encoder.encode(code.rawValue)
        encoder.encode(domain.rawValue)
        try encoder.encodeOptionalString(message)
        encoder.encode(level.rawValue)
        try encoder.encodeOptional(errorDomain) { encoder, domain throws(XDREncodingError) in
            try domain.encode(to: &encoder)
        }
        try encoder.encodeOptionalString(str1)
        try encoder.encodeOptionalString(str2)
        try encoder.encodeOptionalString(str3)
        encoder.encode(int1)
        encoder.encode(int2)
        try encoder.encodeOptional(network) { encoder, network throws(XDREncodingError) in
            try network.encode(to: &encoder)
        }
    }
}
