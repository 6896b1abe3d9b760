import LibvirtProtocol
import Management

/// Virtual network procedures, mapped onto `ManagedNetworks`. Returns nil for procedures handled
/// elsewhere, and for every network procedure when the daemon runs without networks (they are then
/// answered VIR_ERR_NO_SUPPORT, as by a libvirtd without a network driver).
extension RemoteDispatcher {
    /// Procedures that change networks, refused on read-only connections.
    static let modifyingNetworkProcedures: Set<RemoteProcedure> = [
        .networkCreate, .networkCreateXML, .networkCreateXMLFlags, .networkDefineXML, .networkDefineXMLFlags,
        .networkDestroy, .networkUndefine, .networkSetAutostart,
    ]

    func networkProcedure(_ procedure: RemoteProcedure, payload: [UInt8]) async throws -> (any XDREncodable)? {
        guard let networks else { return nil }
        switch procedure {
        case .connectNumOfNetworks:
            return IntMessage(Int32(clamping: await networks.list().filter(\.active).count))
        case .connectNumOfDefinedNetworks:
            return IntMessage(Int32(clamping: await networks.list().filter { !$0.active && $0.persistent }.count))
        case .connectListNetworks:
            let maxNames = try networkListLimit(decode(IntMessage.self, from: payload).value)
            let names = await networks.list().filter(\.active).map(\.name).sorted()
            return StringList(Array(names.prefix(maxNames)))
        case .connectListDefinedNetworks:
            let maxNames = try networkListLimit(decode(IntMessage.self, from: payload).value)
            let names = await networks.list().filter { !$0.active && $0.persistent }.map(\.name).sorted()
            return StringList(Array(names.prefix(maxNames)))
        case .connectListAllNetworks:
            let args = try decode(ListAllNetworksArgs.self, from: payload)
            let flags = NetworkListFlags(rawValue: args.flags)
            let unknown = flags.subtracting(.all)
            guard unknown.isEmpty else {
                throw LibvirtError.invalidArgument(
                    "unsupported flags (0x\(String(unknown.rawValue, radix: 16))) in function virConnectListAllNetworks"
                )
            }
            let matching = await networks.list()
                .filter { flags.matches(active: $0.active, persistent: $0.persistent, autostart: $0.autostart) }
                .sorted { $0.name < $1.name }
            guard matching.count <= ListAllNetworksReply.maxCount else {
                throw LibvirtError.rpc(
                    "Too many networks '\(matching.count)' for limit '\(ListAllNetworksReply.maxCount)'")
            }
            return ListAllNetworksReply(
                networks: args.needResults != 0 ? matching.map(\.remoteNetwork) : [], count: UInt32(matching.count))

        case .networkLookupByName:
            return NetworkMessage(
                try await networks.lookup(.name(decode(StringMessage.self, from: payload).value)).remoteNetwork)
        case .networkLookupByUUID:
            let uuid = try decode(DomainLookupByUUIDArgs.self, from: payload).uuid
            return NetworkMessage(try await networks.lookup(.uuid(uuid)).remoteNetwork)

        case .networkDefineXML:
            let xml = try decode(StringMessage.self, from: payload).value
            return NetworkMessage(try await networks.define(xml: xml, flags: 0).remoteNetwork)
        case .networkDefineXMLFlags:
            let args = try decode(StringFlagsMessage.self, from: payload)
            return NetworkMessage(try await networks.define(xml: args.value, flags: args.flags).remoteNetwork)
        case .networkCreateXML:
            let xml = try decode(StringMessage.self, from: payload).value
            return NetworkMessage(try await networks.createTransient(xml: xml, flags: 0).remoteNetwork)
        case .networkCreateXMLFlags:
            let args = try decode(StringFlagsMessage.self, from: payload)
            return NetworkMessage(try await networks.createTransient(xml: args.value, flags: args.flags).remoteNetwork)
        case .networkUndefine:
            try await networks.undefine(existingNetwork(decode(NetworkMessage.self, from: payload).network).uuid)
            return XDRVoid()
        case .networkCreate:
            try await networks.start(existingNetwork(decode(NetworkMessage.self, from: payload).network).uuid)
            return XDRVoid()
        case .networkDestroy:
            try await networks.destroy(existingNetwork(decode(NetworkMessage.self, from: payload).network).uuid)
            return XDRVoid()
        case .networkSetAutostart:
            let args = try decode(NetworkSetAutostartArgs.self, from: payload)
            try await networks.setAutostart(existingNetwork(args.network).uuid, args.autostart != 0)
            return XDRVoid()

        case .networkGetXMLDesc:
            let args = try decode(NetworkFlagsMessage.self, from: payload)
            return StringMessage(
                try await networks.xmlDescription(existingNetwork(args.network).uuid, flags: args.flags))
        case .networkGetBridgeName:
            let network = try await existingNetwork(decode(NetworkMessage.self, from: payload).network)
            return StringMessage(try await networks.bridgeName(network.uuid))
        case .networkGetAutostart:
            return IntMessage(try await existingNetwork(decode(NetworkMessage.self, from: payload).network).autostart)
        case .networkIsActive:
            return IntMessage(try await existingNetwork(decode(NetworkMessage.self, from: payload).network).active)
        case .networkIsPersistent:
            return IntMessage(try await existingNetwork(decode(NetworkMessage.self, from: payload).network).persistent)
        default:
            return nil
        }
    }

    /// The current status of a network a client names; found by UUID, as libvirt's driver does.
    private func existingNetwork(_ network: RemoteNetwork) async throws -> NetworkStatus {
        guard let networks else { throw LibvirtError.noSupport("virNetworkLookupByUUID") }
        do {
            return try await networks.lookup(.uuid(network.uuid))
        } catch let error as LibvirtError where error.code == .noNetwork {
            throw LibvirtError.noNetwork("no network with matching uuid '\(network.uuid)' (\(network.name))")
        }
    }

    private func networkListLimit(_ value: Int32) throws(LibvirtError) -> Int {
        guard value >= 0 else { throw .invalidArgument("maxnames must not be negative") }
        guard value <= ListAllNetworksReply.maxCount else { throw .rpc("maxnames > REMOTE_NETWORK_LIST_MAX") }
        return Int(value)
    }
}
