// remote_protocol.x declares one struct per procedure, but many share a layout. These types are
// those layouts; each doc lists the procedures whose arguments or replies have it.

/// `{ int value; }`: CONNECT_SUPPORTS_FEATURE args/ret, CONNECT_NUM_OF_DOMAINS and
/// CONNECT_NUM_OF_DEFINED_DOMAINS ret, DOMAIN_LOOKUP_BY_ID args, CONNECT_LIST_DOMAINS args (maxids),
/// CONNECT_LIST_DEFINED_DOMAINS args (maxnames), DOMAIN_GET_AUTOSTART, DOMAIN_IS_ACTIVE,
/// DOMAIN_IS_PERSISTENT, DOMAIN_HAS_MANAGED_SAVE_IMAGE, DOMAIN_GET_VCPUS_FLAGS and DOMAIN_GET_MAX_VCPUS ret,
/// CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY ret and DEREGISTER_ANY args (callbackID), DOMAIN_SNAPSHOT_NUM ret,
/// CONNECT_IS_SECURE ret.
public struct IntMessage: XDRCodable, Hashable {
    public var value: Int32
    public init(_ value: Int32) { self.value = value }
    public init(_ value: Bool) { self.value = value ? 1 : 0 }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        value = try decoder.decodeInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        encoder.encode(value)
    }
}

/// `{ unsigned int flags; }`: CONNECT_GET_SYSINFO args.
public struct FlagsMessage: XDRCodable, Hashable {
    public var flags: UInt32
    public init(flags: UInt32) { self.flags = flags }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        flags = try decoder.decodeUInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        encoder.encode(flags)
    }
}

/// `{ unsigned hyper value; }`: CONNECT_GET_VERSION and CONNECT_GET_LIB_VERSION ret (version as
/// major * 1,000,000 + minor * 1,000 + micro), DOMAIN_GET_MAX_MEMORY ret (KiB).
public struct UnsignedHyperMessage: XDRCodable, Hashable {
    public var value: UInt64
    public init(_ value: UInt64) { self.value = value }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        value = try decoder.decodeUInt64()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        encoder.encode(value)
    }
}

/// `{ remote_nonnull_string value; }`: CONNECT_GET_TYPE, CONNECT_GET_HOSTNAME, CONNECT_GET_URI,
/// CONNECT_GET_CAPABILITIES, CONNECT_GET_SYSINFO, DOMAIN_GET_XML_DESC and DOMAIN_GET_OS_TYPE ret;
/// DOMAIN_LOOKUP_BY_NAME and DOMAIN_DEFINE_XML args.
public struct StringMessage: XDRCodable, Hashable {
    public var value: String
    public init(_ value: String) { self.value = value }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        value = try decoder.decodeRemoteString()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try encoder.encodeRemoteString(value)
    }
}

/// `{ remote_nonnull_string value; unsigned int flags; }`: DOMAIN_DEFINE_XML_FLAGS and
/// DOMAIN_CREATE_XML args.
public struct StringFlagsMessage: XDRCodable, Hashable {
    public var value: String
    public var flags: UInt32

    public init(_ value: String, flags: UInt32) {
        self.value = value
        self.flags = flags
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        value = try decoder.decodeRemoteString()
        flags = try decoder.decodeUInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try encoder.encodeRemoteString(value)
        encoder.encode(flags)
    }
}

/// `{ int ids<REMOTE_DOMAIN_LIST_MAX>; }`: CONNECT_LIST_DOMAINS ret.
public struct DomainIDList: XDRCodable, Hashable {
    public static let maxCount = DomainLimits.maxListCount
    public var ids: [Int32]
    public init(ids: [Int32]) { self.ids = ids }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        ids = try decoder.decodeArray(maxCount: Self.maxCount) {
            (decoder: inout XDRDecoder) throws(XDRDecodingError) in try decoder.decodeInt32()
        }
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try encoder.encodeArray(ids, maxCount: Self.maxCount) { encoder, id in encoder.encode(id) }
    }
}

/// `{ remote_nonnull_string names<REMOTE_DOMAIN_LIST_MAX>; }`: CONNECT_LIST_DEFINED_DOMAINS ret.
public struct StringList: XDRCodable, Hashable {
    public static let maxCount = DomainLimits.maxListCount
    public var values: [String]
    public init(_ values: [String]) { self.values = values }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        values = try decoder.decodeArray(maxCount: Self.maxCount) {
            (decoder: inout XDRDecoder) throws(XDRDecodingError) in try decoder.decodeRemoteString()
        }
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try encoder.encodeArray(values, maxCount: Self.maxCount) { encoder, value throws(XDREncodingError) in
            try encoder.encodeRemoteString(value)
        }
    }
}

/// Array limits from remote_protocol.x.
public enum DomainLimits {
    /// REMOTE_DOMAIN_LIST_MAX.
    public static let maxListCount = 16384
    /// REMOTE_DOMAIN_MESSAGES_MAX.
    public static let maxMessages = 2048
    /// REMOTE_AUTH_TYPE_LIST_MAX.
    public static let maxAuthTypes = 20
    /// REMOTE_SECURITY_MODEL_MAX (VIR_SECURITY_MODEL_BUFLEN).
    public static let maxSecurityModelLength = 257
    /// REMOTE_SECURITY_DOI_MAX (VIR_SECURITY_DOI_BUFLEN).
    public static let maxSecurityDOILength = 257
}
