// Layouts of the network procedures in remote_protocol.x. Lookups by UUID take
// `DomainLookupByUUIDArgs` (the same `remote_uuid`); name lookups, XML definitions and listings of
// names take the scalar messages; `remote_connect_list_all_networks_args` is the storage pools' layout.

/// `remote_connect_list_all_networks_args`: `needResults` and the VIR_CONNECT_LIST_NETWORKS_* flags.
public typealias ListAllNetworksArgs = ListAllStoragePoolsArgs

/// `{ remote_nonnull_network net; }`: args of NETWORK_CREATE, NETWORK_DESTROY, NETWORK_UNDEFINE,
/// NETWORK_GET_AUTOSTART, NETWORK_GET_BRIDGE_NAME, NETWORK_IS_ACTIVE and NETWORK_IS_PERSISTENT; ret of
/// the lookups, NETWORK_DEFINE_XML(_FLAGS) and NETWORK_CREATE_XML(_FLAGS).
public struct NetworkMessage: XDRCodable, Hashable {
    public var network: RemoteNetwork
    public init(_ network: RemoteNetwork) { self.network = network }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        network = try RemoteNetwork(from: &decoder)
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try network.encode(to: &encoder)
    }
}

/// `{ remote_nonnull_network net; unsigned int flags; }`: NETWORK_GET_XML_DESC args.
public struct NetworkFlagsMessage: XDRCodable, Hashable {
    public var network: RemoteNetwork
    public var flags: UInt32

    public init(_ network: RemoteNetwork, flags: UInt32) {
        self.network = network
        self.flags = flags
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        network = try RemoteNetwork(from: &decoder)
        flags = try decoder.decodeUInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try network.encode(to: &encoder)
        encoder.encode(flags)
    }
}

/// `remote_network_set_autostart_args`.
public struct NetworkSetAutostartArgs: XDRCodable, Hashable {
    public var network: RemoteNetwork
    public var autostart: Int32

    public init(_ network: RemoteNetwork, autostart: Bool) {
        self.network = network
        self.autostart = autostart ? 1 : 0
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        network = try RemoteNetwork(from: &decoder)
        autostart = try decoder.decodeInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try network.encode(to: &encoder)
        encoder.encode(autostart)
    }
}

/// `remote_connect_list_all_networks_ret`: the networks (empty unless asked for) and their count.
public struct ListAllNetworksReply: XDRCodable, Hashable {
    /// REMOTE_NETWORK_LIST_MAX.
    public static let maxCount = 16384
    public var networks: [RemoteNetwork]
    public var count: UInt32

    public init(networks: [RemoteNetwork], count: UInt32) {
        self.networks = networks
        self.count = count
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        // A network takes at least 4 (name length) + 16 (uuid) bytes.
        networks = try decoder.decodeArray(maxCount: Self.maxCount, minimumElementSize: 20) {
            (decoder: inout XDRDecoder) throws(XDRDecodingError) in try RemoteNetwork(from: &decoder)
        }
        count = try decoder.decodeUInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try encoder.encodeArray(networks, maxCount: Self.maxCount) {
            encoder, network throws(XDREncodingError) in try network.encode(to: &encoder)
        }
        encoder.encode(count)
    }
}

/// `virConnectListAllNetworksFlags` (libvirt-network.h).
public struct NetworkListFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let inactive = NetworkListFlags(rawValue: 1 << 0)
    public static let active = NetworkListFlags(rawValue: 1 << 1)
    public static let persistent = NetworkListFlags(rawValue: 1 << 2)
    public static let transient = NetworkListFlags(rawValue: 1 << 3)
    public static let autostart = NetworkListFlags(rawValue: 1 << 4)
    public static let noAutostart = NetworkListFlags(rawValue: 1 << 5)
    public static let all: NetworkListFlags = [.inactive, .active, .persistent, .transient, .autostart, .noAutostart]

    /// Whether a network passes the filter: each pair of opposite flags filters only if one of the
    /// two is given (virConnectListAllNetworks semantics).
    public func matches(active: Bool, persistent: Bool, autostart: Bool) -> Bool {
        func passes(_ yes: NetworkListFlags, _ no: NetworkListFlags, _ value: Bool) -> Bool {
            let wantYes = contains(yes)
            let wantNo = contains(no)
            guard wantYes || wantNo else { return true }
            return value ? wantYes : wantNo
        }
        return passes(.active, .inactive, active) && passes(.persistent, .transient, persistent)
            && passes(.autostart, .noAutostart, autostart)
    }
}
