/// `remote_connect_open_args`: the URI the client opened ("qemu:///system", or NULL to probe) and
/// `virConnectFlags` (VIR_CONNECT_RO = 1).
public struct ConnectOpenArgs: XDRCodable, Hashable {
    public var name: String?
    public var flags: UInt32

    public init(name: String?, flags: UInt32) {
        self.name = name
        self.flags = flags
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        name = try decoder.decodeOptionalString()
        flags = try decoder.decodeUInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try encoder.encodeOptionalString(name)
        encoder.encode(flags)
    }
}

/// `remote_auth_list_ret`: the authentication schemes the client must complete before CONNECT_OPEN.
public struct AuthListReply: XDRCodable, Hashable {
    public var types: [RemoteAuthType]
    public init(types: [RemoteAuthType]) { self.types = types }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        types = try decoder.decodeArray(maxCount: DomainLimits.maxAuthTypes) {
            (decoder: inout XDRDecoder) throws(XDRDecodingError) in
            let at = decoder.offset
            let raw = try decoder.decodeInt32()
            guard let type = RemoteAuthType(rawValue: raw) else {
                throw .invalidEnum(offset: at, type: "remote_auth_type", value: raw)
            }
            return type
        }
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try encoder.encodeArray(types, maxCount: DomainLimits.maxAuthTypes) { encoder, type in
            encoder.encode(type.rawValue)
        }
    }
}

/// `remote_node_get_info_ret` (virNodeInfo). `model` is `char[32]`: 32 chars of 4 bytes each.
public struct NodeInfoReply: XDRCodable, Hashable {
    public static let modelLength = 32

    /// CPU model (e.g. "x86_64"); longer names are cut to 31 bytes plus the C terminator.
    public var model: String
    /// Memory in KiB.
    public var memory: UInt64
    public var cpus: Int32
    public var mhz: Int32
    public var nodes: Int32
    public var sockets: Int32
    public var cores: Int32
    public var threads: Int32

    public init(
        model: String, memory: UInt64, cpus: Int32, mhz: Int32, nodes: Int32, sockets: Int32, cores: Int32,
        threads: Int32
    ) {
        self.model = model
        self.memory = memory
        self.cpus = cpus
        self.mhz = mhz
        self.nodes = nodes
        self.sockets = sockets
        self.cores = cores
        self.threads = threads
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        let characters = try decoder.decodeCharacters(count: Self.modelLength)
        model = String(decoding: characters.prefix { $0 != 0 }, as: UTF8.self)
        memory = try decoder.decodeUInt64()
        cpus = try decoder.decodeInt32()
        mhz = try decoder.decodeInt32()
        nodes = try decoder.decodeInt32()
        sockets = try decoder.decodeInt32()
        cores = try decoder.decodeInt32()
        threads = try decoder.decodeInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        var characters = Array(model.utf8.prefix(Self.modelLength - 1))
        characters.append(contentsOf: repeatElement(0, count: Self.modelLength - characters.count))
        encoder.encodeCharacters(characters)
        encoder.encode(memory)
        encoder.encode(cpus)
        encoder.encode(mhz)
        encoder.encode(nodes)
        encoder.encode(sockets)
        encoder.encode(cores)
        encoder.encode(threads)
    }
}

/// `remote_connect_list_all_domains_args`: `needResults` 0 asks for the count only.
public struct ListAllDomainsArgs: XDRCodable, Hashable {
    public var needResults: Int32
    public var flags: ListAllDomainsFlags

    public init(needResults: Int32, flags: ListAllDomainsFlags) {
        self.needResults = needResults
        self.flags = flags
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        needResults = try decoder.decodeInt32()
        flags = ListAllDomainsFlags(rawValue: try decoder.decodeUInt32())
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        encoder.encode(needResults)
        encoder.encode(flags.rawValue)
    }
}

/// `remote_connect_list_all_domains_ret`: the domains (empty unless asked for) and their count.
public struct ListAllDomainsReply: XDRCodable, Hashable {
    public var domains: [RemoteDomain]
    public var count: UInt32

    public init(domains: [RemoteDomain], count: UInt32) {
        self.domains = domains
        self.count = count
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        // A domain takes at least 4 (name length) + 16 (uuid) + 4 (id) bytes.
        domains = try decoder.decodeArray(maxCount: DomainLimits.maxListCount, minimumElementSize: 24) {
            (decoder: inout XDRDecoder) throws(XDRDecodingError) in try RemoteDomain(from: &decoder)
        }
        count = try decoder.decodeUInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try encoder.encodeArray(domains, maxCount: DomainLimits.maxListCount) {
            encoder, domain throws(XDREncodingError) in try domain.encode(to: &encoder)
        }
        encoder.encode(count)
    }
}

/// `remote_node_get_security_model_ret`: `char model<>` and `char doi<>`, 4 bytes per char. An empty
/// model means no security driver is active.
public struct SecurityModelReply: XDRCodable, Hashable {
    public var model: [UInt8]
    public var doi: [UInt8]

    public init(model: [UInt8], doi: [UInt8]) {
        self.model = model
        self.doi = doi
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        model = try decoder.decodeCharacterArray(maxCount: DomainLimits.maxSecurityModelLength)
        doi = try decoder.decodeCharacterArray(maxCount: DomainLimits.maxSecurityDOILength)
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try encoder.encodeCharacterArray(model, maxCount: DomainLimits.maxSecurityModelLength)
        try encoder.encodeCharacterArray(doi, maxCount: DomainLimits.maxSecurityDOILength)
    }
}

/// `remote_connect_get_max_vcpus_args`: a hypervisor type that may be NULL.
public struct ConnectGetMaxVcpusArgs: XDRCodable, Hashable {
    public var type: String?
    public init(type: String?) { self.type = type }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        type = try decoder.decodeOptionalString()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try encoder.encodeOptionalString(type)
    }
}

/// `remote_connect_get_domain_capabilities_args`: what the client wants capabilities for; any of the
/// four may be NULL (the daemon's default). The reply is a `StringMessage` (the XML).
public struct ConnectGetDomainCapabilitiesArgs: XDRCodable, Hashable {
    public var emulatorPath: String?
    public var architecture: String?
    public var machine: String?
    public var virtualizationType: String?
    public var flags: UInt32

    public init(
        emulatorPath: String? = nil, architecture: String? = nil, machine: String? = nil,
        virtualizationType: String? = nil, flags: UInt32 = 0
    ) {
        self.emulatorPath = emulatorPath
        self.architecture = architecture
        self.machine = machine
        self.virtualizationType = virtualizationType
        self.flags = flags
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        emulatorPath = try decoder.decodeOptionalString()
        architecture = try decoder.decodeOptionalString()
        machine = try decoder.decodeOptionalString()
        virtualizationType = try decoder.decodeOptionalString()
        flags = try decoder.decodeUInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try encoder.encodeOptionalString(emulatorPath)
        try encoder.encodeOptionalString(architecture)
        try encoder.encodeOptionalString(machine)
        try encoder.encodeOptionalString(virtualizationType)
        encoder.encode(flags)
    }
}

/// `remote_nonnull_storage_pool`: a pool's name and UUID, the same layout as a network's.
public typealias RemoteStoragePool = RemoteNetwork

/// `remote_connect_list_all_storage_pools_args`: `needResults` 0 asks for the count only; `flags`
/// filter by state and pool type.
public struct ListAllStoragePoolsArgs: XDRCodable, Hashable {
    public var needResults: Int32
    public var flags: UInt32

    public init(needResults: Int32, flags: UInt32) {
        self.needResults = needResults
        self.flags = flags
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        needResults = try decoder.decodeInt32()
        flags = try decoder.decodeUInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        encoder.encode(needResults)
        encoder.encode(flags)
    }
}

/// `remote_connect_list_all_storage_pools_ret`: the pools (empty unless asked for) and their count.
public struct ListAllStoragePoolsReply: XDRCodable, Hashable {
    /// REMOTE_STORAGE_POOL_LIST_MAX.
    public static let maxCount = 16384
    public var pools: [RemoteStoragePool]
    public var count: UInt32

    public init(pools: [RemoteStoragePool], count: UInt32) {
        self.pools = pools
        self.count = count
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        // A pool takes at least 4 (name length) + 16 (uuid) bytes.
        pools = try decoder.decodeArray(maxCount: Self.maxCount, minimumElementSize: 20) {
            (decoder: inout XDRDecoder) throws(XDRDecodingError) in try RemoteStoragePool(from: &decoder)
        }
        count = try decoder.decodeUInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try encoder.encodeArray(pools, maxCount: Self.maxCount) {
            encoder, pool throws(XDREncodingError) in try pool.encode(to: &encoder)
        }
        encoder.encode(count)
    }
}
