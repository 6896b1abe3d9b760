import LibvirtProtocol

/// A domain and its state, as `list` shows it.
public struct DomainListing: Hashable, Sendable {
    public var domain: RemoteDomain
    public var state: DomainState

    public init(domain: RemoteDomain, state: DomainState) {
        self.domain = domain
        self.state = state
    }
}

/// The domain calls the CLI makes, each the libvirt procedure virsh uses for the same command.
extension RemoteClient {
    /// DOMAIN_LOOKUP_BY_NAME.
    public func lookup(name: String) throws(ClientError) -> RemoteDomain {
        try call(.domainLookupByName, StringMessage(name), returning: DomainMessage.self).domain
    }

    /// CONNECT_LIST_ALL_DOMAINS and DOMAIN_GET_STATE for each: running domains by id, then (with
    /// `includeInactive`) the others by name, as `virsh list` orders them.
    public func listDomains(includeInactive: Bool) throws(ClientError) -> [DomainListing] {
        let flags: ListAllDomainsFlags = includeInactive ? [] : .active
        let domains = try call(
            .connectListAllDomains, ListAllDomainsArgs(needResults: 1, flags: flags),
            returning: ListAllDomainsReply.self
        ).domains
        var listings: [DomainListing] = []
        for domain in domains {
            listings.append(DomainListing(domain: domain, state: try state(of: domain).state))
        }
        return listings.sorted { left, right in
            switch (left.domain.id > 0, right.domain.id > 0) {
            case (true, true): return left.domain.id < right.domain.id
            case (false, false): return left.domain.name < right.domain.name
            case (let leftActive, _): return leftActive
            }
        }
    }

    /// DOMAIN_GET_STATE.
    public func state(of domain: RemoteDomain) throws(ClientError) -> DomainStateReply {
        try call(.domainGetState, DomainFlagsMessage(domain, flags: 0), returning: DomainStateReply.self)
    }

    /// DOMAIN_DEFINE_XML: defines (or redefines) a persistent domain.
    public func define(xml: String) throws(ClientError) -> RemoteDomain {
        try call(.domainDefineXML, StringMessage(xml), returning: DomainMessage.self).domain
    }

    /// DOMAIN_UNDEFINE_FLAGS.
    public func undefine(_ domain: RemoteDomain) throws(ClientError) {
        try call(.domainUndefineFlags, DomainFlagsMessage(domain, flags: 0))
    }

    /// DOMAIN_CREATE_WITH_FLAGS: starts a defined domain.
    public func start(_ domain: RemoteDomain) throws(ClientError) -> RemoteDomain {
        try call(.domainCreateWithFlags, DomainFlagsMessage(domain, flags: 0), returning: DomainMessage.self).domain
    }

    /// DOMAIN_SHUTDOWN_FLAGS with no mode: the hypervisor's default, an ACPI power-button press.
    /// Returns once asked, not once the guest is off.
    public func shutdown(_ domain: RemoteDomain) throws(ClientError) {
        try call(.domainShutdownFlags, DomainFlagsMessage(domain, flags: 0))
    }

    /// DOMAIN_DESTROY: stops the machine at once.
    public func destroy(_ domain: RemoteDomain) throws(ClientError) {
        try call(.domainDestroy, DomainMessage(domain))
    }
}

extension DomainState {
    /// The words `virsh list` and `domstate` use.
    public var displayName: String {
        switch self {
        case .noState: return "no state"
        case .running: return "running"
        case .blocked: return "idle"
        case .paused: return "paused"
        case .shutdown: return "in shutdown"
        case .shutoff: return "shut off"
        case .crashed: return "crashed"
        case .pmSuspended: return "pmsuspended"
        }
    }
}
