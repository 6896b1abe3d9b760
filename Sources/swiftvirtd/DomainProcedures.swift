import LibvirtProtocol
import Management

/// Domain listing, lookup, definition and lifecycle procedures, mapped onto the `DomainBackend`.
/// Returns nil for procedures handled elsewhere.
extension RemoteDispatcher {
    func domainProcedure(_ procedure: RemoteProcedure, payload: [UInt8]) async throws -> (any XDREncodable)? {
        switch procedure {
        case .connectListDomains:
            let maxIDs = try listLimit(decode(IntMessage.self, from: payload).value, name: "maxids")
            let ids = try await backend.list().filter(\.state.isActive).map(\.id).sorted()
            return DomainIDList(ids: Array(ids.prefix(maxIDs)))
        case .connectNumOfDomains:
            return IntMessage(Int32(clamping: try await backend.list().filter(\.state.isActive).count))
        case .connectListDefinedDomains:
            let maxNames = try listLimit(decode(IntMessage.self, from: payload).value, name: "maxnames")
            let names = try await backend.list().filter { !$0.state.isActive && $0.persistent }.map(\.name).sorted()
            return StringList(Array(names.prefix(maxNames)))
        case .connectNumOfDefinedDomains:
            return IntMessage(
                Int32(clamping: try await backend.list().filter { !$0.state.isActive && $0.persistent }.count))
        case .connectListAllDomains:
            return try await listAllDomains(decode(ListAllDomainsArgs.self, from: payload))

        case .domainLookupByName:
            return DomainMessage(
                try await backend.lookup(.name(decode(StringMessage.self, from: payload).value)).remoteDomain)
        case .domainLookupByUUID:
            let uuid = try decode(DomainLookupByUUIDArgs.self, from: payload).uuid
            return DomainMessage(try await backend.lookup(.uuid(uuid)).remoteDomain)
        case .domainLookupByID:
            return DomainMessage(
                try await backend.lookup(.id(decode(IntMessage.self, from: payload).value)).remoteDomain)

        case .domainDefineXML:
            return DomainMessage(
                try await backend.define(xml: decode(StringMessage.self, from: payload).value, flags: 0).remoteDomain)
        case .domainDefineXMLFlags:
            let args = try decode(StringFlagsMessage.self, from: payload)
            return DomainMessage(try await backend.define(xml: args.value, flags: args.flags).remoteDomain)
        case .domainCreateXML:
            let args = try decode(StringFlagsMessage.self, from: payload)
            return DomainMessage(try await backend.createTransient(xml: args.value, flags: args.flags).remoteDomain)
        case .domainUndefine:
            let domain = try await existing(decode(DomainMessage.self, from: payload).domain)
            try await backend.undefine(domain.uuid, flags: 0)
            return XDRVoid()
        case .domainUndefineFlags:
            let args = try decode(DomainFlagsMessage.self, from: payload)
            try await backend.undefine(existing(args.domain).uuid, flags: args.flags)
            return XDRVoid()

        case .domainCreate:
            let domain = try await existing(decode(DomainMessage.self, from: payload).domain)
            _ = try await backend.start(domain.uuid, flags: 0)
            return XDRVoid()
        case .domainCreateWithFlags:
            let args = try decode(DomainFlagsMessage.self, from: payload)
            return DomainMessage(try await backend.start(existing(args.domain).uuid, flags: args.flags).remoteDomain)
        case .domainDestroy:
            try await backend.destroy(existing(decode(DomainMessage.self, from: payload).domain).uuid, flags: 0)
            return XDRVoid()
        case .domainDestroyFlags:
            let args = try decode(DomainFlagsMessage.self, from: payload)
            try await backend.destroy(existing(args.domain).uuid, flags: args.flags)
            return XDRVoid()
        case .domainShutdown:
            try await backend.shutdown(existing(decode(DomainMessage.self, from: payload).domain).uuid, flags: 0)
            return XDRVoid()
        case .domainShutdownFlags:
            let args = try decode(DomainFlagsMessage.self, from: payload)
            try await backend.shutdown(existing(args.domain).uuid, flags: args.flags)
            return XDRVoid()
        case .domainReboot:
            let args = try decode(DomainFlagsMessage.self, from: payload)
            try await backend.reboot(existing(args.domain).uuid, flags: args.flags)
            return XDRVoid()
        case .domainSuspend:
            try await backend.suspend(existing(decode(DomainMessage.self, from: payload).domain).uuid)
            return XDRVoid()
        case .domainResume:
            try await backend.resume(existing(decode(DomainMessage.self, from: payload).domain).uuid)
            return XDRVoid()

        case .domainGetInfo:
            let status = try await existing(decode(DomainMessage.self, from: payload).domain)
            let info = try await backend.runtimeInfo(status.uuid)
            return DomainInfoReply(
                state: status.state, maxMemory: info.maxMemory, memory: info.memory, virtualCPUs: info.virtualCPUs,
                cpuTime: info.cpuTime)
        case .domainGetState:
            let status = try await existing(decode(DomainFlagsMessage.self, from: payload).domain)
            return DomainStateReply(state: status.state, reason: status.reason)
        case .domainGetXMLDesc:
            let args = try decode(DomainFlagsMessage.self, from: payload)
            let flags = DomainXMLFlags(rawValue: args.flags)
            return StringMessage(try await backend.xmlDescription(existing(args.domain).uuid, flags: flags))
        case .domainGetAutostart:
            return IntMessage(try await existing(decode(DomainMessage.self, from: payload).domain).autostart)
        case .domainSetAutostart:
            let args = try decode(DomainSetAutostartArgs.self, from: payload)
            try await backend.setAutostart(existing(args.domain).uuid, args.autostart != 0)
            return XDRVoid()
        case .domainIsActive:
            return IntMessage(try await existing(decode(DomainMessage.self, from: payload).domain).state.isActive)
        case .domainIsPersistent:
            return IntMessage(try await existing(decode(DomainMessage.self, from: payload).domain).persistent)
        case .domainHasManagedSaveImage:
            _ = try await existing(decode(DomainFlagsMessage.self, from: payload).domain)
            return IntMessage(false)
        case .domainSnapshotNum:
            // No snapshot support means no snapshots; `virsh undefine` asks before choosing its flags.
            _ = try await existing(decode(DomainFlagsMessage.self, from: payload).domain)
            return IntMessage(0)
        case .domainGetOSType:
            _ = try await existing(decode(DomainMessage.self, from: payload).domain)
            return StringMessage("hvm")
        case .domainGetMaxMemory:
            let status = try await existing(decode(DomainMessage.self, from: payload).domain)
            return UnsignedHyperMessage(try await backend.runtimeInfo(status.uuid).maxMemory)
        case .domainGetMaxVcpus:
            let status = try await existing(decode(DomainMessage.self, from: payload).domain)
            return IntMessage(Int32(try await backend.runtimeInfo(status.uuid).virtualCPUs))
        case .domainGetVcpusFlags:
            let status = try await existing(decode(DomainFlagsMessage.self, from: payload).domain)
            return IntMessage(Int32(try await backend.runtimeInfo(status.uuid).virtualCPUs))
        case .domainGetMessages:
            let status = try await existing(decode(DomainFlagsMessage.self, from: payload).domain)
            return DomainMessageList(Array(try await backend.messages(status.uuid).prefix(DomainLimits.maxMessages)))
        default:
            return nil
        }
    }

    /// The current status of a domain a client names; libvirt's drivers find it by UUID.
    func existing(_ domain: RemoteDomain) async throws -> DomainStatus {
        do {
            return try await backend.lookup(.uuid(domain.uuid))
        } catch let error as LibvirtError where error.code == .noDomain {
            throw LibvirtError.noDomain(uuid: domain.uuid, name: domain.name)
        }
    }

    /// A client's `maxids`/`maxnames` as a count, checked against the protocol's array limit.
    func listLimit(
        _ value: Int32, name: String, limit: Int = DomainLimits.maxListCount,
        limitName: String = "REMOTE_DOMAIN_LIST_MAX"
    ) throws(LibvirtError) -> Int {
        guard value >= 0 else { throw .invalidArgument("\(name) must not be negative") }
        guard value <= limit else { throw .rpc("\(name) > \(limitName)") }
        return Int(value)
    }

    private func listAllDomains(_ args: ListAllDomainsArgs) async throws -> ListAllDomainsReply {
        let unknown = args.flags.subtracting(.all)
        guard unknown.isEmpty else {
            throw LibvirtError.unsupportedFlags(unknown.rawValue, function: "virConnectListAllDomains")
        }
        let matching = try await backend.list().filter { args.flags.matches($0.filterSubject) }
            .sorted {
                ($0.state.isActive ? $0.id : Int32.max, $0.name) < ($1.state.isActive ? $1.id : Int32.max, $1.name)
            }
        guard matching.count <= DomainLimits.maxListCount else {
            throw LibvirtError.rpc("Too many domains '\(matching.count)' for limit '\(DomainLimits.maxListCount)'")
        }
        return ListAllDomainsReply(
            domains: args.needResults != 0 ? matching.map(\.remoteDomain) : [], count: UInt32(matching.count))
    }
}
