import LibvirtProtocol
import Management
import Synchronization

/// The domain event callbacks one connection registered, and the event packets they turn a
/// `DomainEvent` into. Shared between the connection's call loop (which registers) and its event
/// task (which sends), hence the lock.
///
/// Per-callback registration (CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, what current clients use)
/// gets an id and an optional domain filter; its events are DOMAIN_EVENT_CALLBACK_* messages carrying
/// the id. Legacy registration (CONNECT_DOMAIN_EVENT_REGISTER and _REGISTER_ANY) has neither; its
/// events are the plain DOMAIN_EVENT_* messages.
final class EventCallbacks: Sendable {
    /// libvirt's limit on event callbacks per connection is generous; this one keeps a client from
    /// growing the table without bound.
    static let maxCallbacks = 1024

    private struct Registration {
        /// nil for a legacy registration.
        var callbackID: Int32?
        var eventID: DomainEventID
        /// Only this domain's events, if set.
        var domain: DomainUUID?

        func matches(_ event: DomainEvent) -> Bool {
            eventID == event.eventID && (domain == nil || domain == event.domain.uuid)
        }
    }

    private struct State {
        var registrations: [Registration] = []
        var nextCallbackID: Int32 = 1
    }

    private let state = Mutex(State())

    init() {}

    var count: Int { state.withLock { $0.registrations.count } }

    /// CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: returns the new callback id.
    func register(eventID: DomainEventID, domain: DomainUUID?) throws(LibvirtError) -> Int32 {
        try Self.checkEventID(eventID)
        return try state.withLock { state throws(LibvirtError) -> Int32 in
            guard state.registrations.count < Self.maxCallbacks else { throw Self.tooMany }
            let id = state.nextCallbackID
            state.nextCallbackID = id == Int32.max ? 1 : id + 1
            state.registrations.append(Registration(callbackID: id, eventID: eventID, domain: domain))
            return id
        }
    }

    /// CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY.
    func deregister(callbackID: Int32) throws(LibvirtError) {
        try state.withLock { state throws(LibvirtError) in
            guard let index = state.registrations.firstIndex(where: { $0.callbackID == callbackID }) else {
                throw .internalError("domain event callback \(callbackID) not registered")
            }
            state.registrations.remove(at: index)
        }
    }

    /// CONNECT_DOMAIN_EVENT_REGISTER (lifecycle) and CONNECT_DOMAIN_EVENT_REGISTER_ANY, which takes only
    /// the event IDs that existed when per-callback registration arrived.
    func registerLegacy(eventID: DomainEventID) throws(LibvirtError) {
        try Self.checkEventID(eventID)
        guard eventID.rawValue <= DomainEventID.lastLegacy.rawValue else {
            throw .internalError("unsupported event ID \(eventID.rawValue)")
        }
        try state.withLock { state throws(LibvirtError) in
            guard state.registrations.count < Self.maxCallbacks else { throw Self.tooMany }
            state.registrations.append(Registration(callbackID: nil, eventID: eventID, domain: nil))
        }
    }

    /// CONNECT_DOMAIN_EVENT_DEREGISTER and _DEREGISTER_ANY: drops the first legacy registration of
    /// `eventID`.
    func deregisterLegacy(eventID: DomainEventID) throws(LibvirtError) {
        try state.withLock { state throws(LibvirtError) in
            guard
                let index = state.registrations.firstIndex(where: { $0.callbackID == nil && $0.eventID == eventID })
            else {
                throw .internalError("domain event \(eventID.rawValue) not registered")
            }
            state.registrations.remove(at: index)
        }
    }

    func removeAll() {
        state.withLock { $0.registrations.removeAll() }
    }

    /// One MESSAGE packet per registration that wants `event`.
    func packets(for event: DomainEvent) -> [RPCPacket] {
        let matching = state.withLock { $0.registrations.filter { $0.matches(event) } }
        return matching.compactMap { registration in
            try? Self.packet(for: event, callbackID: registration.callbackID)
        }
    }

    private static func packet(for event: DomainEvent, callbackID: Int32?) throws(XDREncodingError) -> RPCPacket {
        switch event.kind {
        case .lifecycle(let lifecycle):
            let message = DomainEventLifecycleMessage(domain: event.domain, event: lifecycle)
            guard let callbackID else { return try .event(.domainEventLifecycle, body: message) }
            return try .event(
                .domainEventCallbackLifecycle,
                body: DomainEventCallbackMessage(callbackID: callbackID, message: message))
        case .reboot:
            let message = DomainMessage(event.domain)
            guard let callbackID else { return try .event(.domainEventReboot, body: message) }
            return try .event(
                .domainEventCallbackReboot, body: DomainEventCallbackMessage(callbackID: callbackID, message: message))
        }
    }

    private static func checkEventID(_ eventID: DomainEventID) throws(LibvirtError) {
        guard eventID.rawValue >= 0 else { throw .internalError("unsupported event ID \(eventID.rawValue)") }
    }

    private static let tooMany = LibvirtError.operationFailed("too many event callbacks registered on this connection")
}
