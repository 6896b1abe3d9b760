/// `remote_nonnull_domain`: how a domain travels in calls and replies. `id` is -1 when inactive.
public struct RemoteDomain: XDRCodable, Hashable {
    public var name: String
    public var uuid: DomainUUID
    public var id: Int32

    public init(name: String, uuid: DomainUUID, id: Int32) {
        self.name = name
        self.uuid = uuid
        self.id = id
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        name = try decoder.decodeString(maxLength: RPCLimits.maxStringLength)
        uuid = try DomainUUID(from: &decoder)
        id = try decoder.decodeInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try encoder.encodeString(name, maxLength: RPCLimits.maxStringLength)
        try uuid.encode(to: &encoder)
        encoder.encode(id)
    }
}

/// `remote_nonnull_network` (and `remote_nonnull_storage_pool`, the same layout): decoded to skip it
/// inside error replies; storage pool listings carry it too.
public struct RemoteNetwork: XDRCodable, Hashable {
    public var name: String
    public var uuid: DomainUUID

    public init(name: String, uuid: DomainUUID) {
        self.name = name
        self.uuid = uuid
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        name = try decoder.decodeString(maxLength: RPCLimits.maxStringLength)
        uuid = try DomainUUID(from: &decoder)
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try encoder.encodeString(name, maxLength: RPCLimits.maxStringLength)
        try uuid.encode(to: &encoder)
    }
}

extension XDRDecoder {
    /// `remote_nonnull_string`.
    public mutating func decodeRemoteString() throws(XDRDecodingError) -> String {
        try decodeString(maxLength: RPCLimits.maxStringLength)
    }

    /// `remote_string`: a string that may be NULL.
    public mutating func decodeOptionalString() throws(XDRDecodingError) -> String? {
        try decodeOptional { (decoder: inout XDRDecoder) throws(XDRDecodingError) in
            try decoder.decodeRemoteString()
        }
    }
}

extension XDREncoder {
    /// `remote_nonnull_string`.
    public mutating func encodeRemoteString(_ value: String) throws(XDREncodingError) {
        try encodeString(value, maxLength: RPCLimits.maxStringLength)
    }

    /// `remote_string`: a string that may be NULL.
    public mutating func encodeOptionalString(_ value: String?) throws(XDREncodingError) {
        try encodeOptional(value) { encoder, string throws(XDREncodingError) in
            try encoder.encodeRemoteString(string)
        }
    }
}
