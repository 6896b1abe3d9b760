import LibvirtProtocol

/// Something that happened to a domain, as libvirt's domain events report it. The backend produces
/// these whenever a domain's state changes, whoever caused it (a client call, the guest, the VMM
/// exiting, re-adoption finding it gone); the daemon relays them to clients that registered.
public struct DomainEvent: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// VIR_DOMAIN_EVENT_ID_LIFECYCLE.
        case lifecycle(DomainLifecycleEvent)
        /// VIR_DOMAIN_EVENT_ID_REBOOT: the guest rebooted and runs on.
        case reboot
    }

    /// The domain as it is after the change (id -1 once it stopped).
    public var domain: RemoteDomain
    public var kind: Kind

    public init(domain: RemoteDomain, kind: Kind) {
        self.domain = domain
        self.kind = kind
    }

    public var eventID: DomainEventID {
        switch kind {
        case .lifecycle: return .lifecycle
        case .reboot: return .reboot
        }
    }

    public var description: String {
        switch kind {
        case .lifecycle(let event): return "\(domain.name): \(event)"
        case .reboot: return "\(domain.name): reboot"
        }
    }
}
