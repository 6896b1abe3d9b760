/// `{ remote_nonnull_domain dom; }`: args of DOMAIN_UNDEFINE, DOMAIN_CREATE, DOMAIN_DESTROY,
/// DOMAIN_SHUTDOWN, DOMAIN_SUSPEND, DOMAIN_RESUME, DOMAIN_GET_INFO, DOMAIN_GET_AUTOSTART,
/// DOMAIN_IS_ACTIVE, DOMAIN_IS_PERSISTENT, DOMAIN_GET_OS_TYPE, DOMAIN_GET_MAX_MEMORY,
/// DOMAIN_GET_MAX_VCPUS; ret of the lookups, DOMAIN_DEFINE_XML(_FLAGS), DOMAIN_CREATE_XML and
/// DOMAIN_CREATE_WITH_FLAGS.
public struct DomainMessage: XDRCodable, Hashable {
    public var domain: RemoteDomain
    public init(_ domain: RemoteDomain) { self.domain = domain }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        domain = try RemoteDomain(from: &decoder)
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try domain.encode(to: &encoder)
    }
}

/// `{ remote_nonnull_domain dom; unsigned int flags; }`: args of DOMAIN_UNDEFINE_FLAGS,
/// DOMAIN_CREATE_WITH_FLAGS, DOMAIN_DESTROY_FLAGS, DOMAIN_SHUTDOWN_FLAGS, DOMAIN_GET_STATE,
/// DOMAIN_GET_XML_DESC, DOMAIN_HAS_MANAGED_SAVE_IMAGE, DOMAIN_GET_VCPUS_FLAGS, DOMAIN_REBOOT,
/// DOMAIN_GET_MESSAGES, DOMAIN_GET_CONTROL_INFO, DOMAIN_SNAPSHOT_NUM.
public struct DomainFlagsMessage: XDRCodable, Hashable {
    public var domain: RemoteDomain
    public var flags: UInt32

    public init(_ domain: RemoteDomain, flags: UInt32) {
        self.domain = domain
        self.flags = flags
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        domain = try RemoteDomain(from: &decoder)
        flags = try decoder.decodeUInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try domain.encode(to: &encoder)
        encoder.encode(flags)
    }
}

/// `remote_domain_lookup_by_uuid_args`.
public struct DomainLookupByUUIDArgs: XDRCodable, Hashable {
    public var uuid: DomainUUID
    public init(uuid: DomainUUID) { self.uuid = uuid }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        uuid = try DomainUUID(from: &decoder)
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try uuid.encode(to: &encoder)
    }
}

/// `remote_domain_get_info_ret` (virDomainInfo). rpcgen sends `unsigned char state` and
/// `unsigned short nrVirtCpu` as full 4-byte units.
public struct DomainInfoReply: XDRCodable, Hashable {
    public var state: DomainState
    /// KiB.
    public var maxMemory: UInt64
    /// KiB.
    public var memory: UInt64
    public var virtualCPUs: UInt16
    /// Nanoseconds of CPU time used.
    public var cpuTime: UInt64

    public init(state: DomainState, maxMemory: UInt64, memory: UInt64, virtualCPUs: UInt16, cpuTime: UInt64) {
        self.state = state
        self.maxMemory = maxMemory
        self.memory = memory
        self.virtualCPUs = virtualCPUs
        self.cpuTime = cpuTime
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        let at = decoder.offset
        let rawState = try decoder.decodeUInt32()
        guard rawState <= UInt32(UInt8.max), let state = DomainState(rawValue: Int32(rawState)) else {
            throw .invalidEnum(offset: at, type: "virDomainState", value: Int32(bitPattern: rawState))
        }
        self.state = state
        maxMemory = try decoder.decodeUInt64()
        memory = try decoder.decodeUInt64()
        virtualCPUs = UInt16(truncatingIfNeeded: try decoder.decodeUInt32())
        cpuTime = try decoder.decodeUInt64()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        encoder.encode(UInt32(state.rawValue))
        encoder.encode(maxMemory)
        encoder.encode(memory)
        encoder.encode(UInt32(virtualCPUs))
        encoder.encode(cpuTime)
    }
}

/// `remote_domain_get_state_ret`: a `virDomainState` and its state-specific reason.
public struct DomainStateReply: XDRCodable, Hashable {
    public var state: DomainState
    public var reason: Int32

    public init(state: DomainState, reason: Int32) {
        self.state = state
        self.reason = reason
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        let at = decoder.offset
        let rawState = try decoder.decodeInt32()
        guard let state = DomainState(rawValue: rawState) else {
            throw .invalidEnum(offset: at, type: "virDomainState", value: rawState)
        }
        self.state = state
        reason = try decoder.decodeInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        encoder.encode(state.rawValue)
        encoder.encode(reason)
    }
}

/// `remote_domain_set_autostart_args`.
public struct DomainSetAutostartArgs: XDRCodable, Hashable {
    public var domain: RemoteDomain
    public var autostart: Int32

    public init(_ domain: RemoteDomain, autostart: Bool) {
        self.domain = domain
        self.autostart = autostart ? 1 : 0
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        domain = try RemoteDomain(from: &decoder)
        autostart = try decoder.decodeInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try domain.encode(to: &encoder)
        encoder.encode(autostart)
    }
}

/// `remote_connect_domain_event_callback_register_any_args`: an event ID (`virDomainEventID`) and an
/// optional domain to restrict events to.
public struct DomainEventCallbackRegisterArgs: XDRCodable, Hashable {
    public var eventID: Int32
    public var domain: RemoteDomain?

    public init(eventID: Int32, domain: RemoteDomain?) {
        self.eventID = eventID
        self.domain = domain
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        eventID = try decoder.decodeInt32()
        domain = try decoder.decodeOptional { (decoder: inout XDRDecoder) throws(XDRDecodingError) in
            try RemoteDomain(from: &decoder)
        }
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        encoder.encode(eventID)
        try encoder.encodeOptional(domain) { encoder, domain throws(XDREncodingError) in
            try domain.encode(to: &encoder)
        }
    }
}

/// `remote_domain_get_messages_ret`: human-readable notes about a domain (`virsh dominfo` prints them).
public struct DomainMessageList: XDRCodable, Hashable {
    public var messages: [String]
    public init(_ messages: [String]) { self.messages = messages }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        messages = try decoder.decodeArray(maxCount: DomainLimits.maxMessages) {
            (decoder: inout XDRDecoder) throws(XDRDecodingError) in try decoder.decodeRemoteString()
        }
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try encoder.encodeArray(messages, maxCount: DomainLimits.maxMessages) {
            encoder, message throws(XDREncodingError) in try encoder.encodeRemoteString(message)
        }
    }
}

/// `remote_domain_open_console_args`: the domain, an optional device alias and
/// `virDomainConsoleFlags`.
public struct DomainOpenConsoleArgs: XDRCodable, Hashable {
    public var domain: RemoteDomain
    public var deviceName: String?
    public var flags: UInt32

    public init(domain: RemoteDomain, deviceName: String?, flags: UInt32) {
        self.domain = domain
        self.deviceName = deviceName
        self.flags = flags
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        domain = try RemoteDomain(from: &decoder)
        deviceName = try decoder.decodeOptionalString()
        flags = try decoder.decodeUInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try domain.encode(to: &encoder)
        try encoder.encodeOptionalString(deviceName)
        encoder.encode(flags)
    }
}
