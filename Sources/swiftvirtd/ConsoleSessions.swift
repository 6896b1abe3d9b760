import LibvirtProtocol
import Synchronization

/// One client's hold on a domain's console. Taken over with VIR_DOMAIN_CONSOLE_FORCE, the holder is
/// told through its revoke handler and ends its stream.
final class ConsoleLease: Sendable {
    let uuid: DomainUUID
    private let state = Mutex<(revoked: Bool, handler: (@Sendable () -> Void)?)>((false, nil))

    init(uuid: DomainUUID) {
        self.uuid = uuid
    }

    /// Runs `handler` when the lease is revoked (at once if it already was).
    func onRevoke(_ handler: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.revoked { return true }
            state.handler = handler
            return false
        }
        if runNow { handler() }
    }

    func revoke() {
        let handler = state.withLock { state -> (@Sendable () -> Void)? in
            state.revoked = true
            defer { state.handler = nil }
            return state.handler
        }
        handler?()
    }
}

/// Who holds each domain's console, across all connections: the VMM serves its serial socket to one
/// client at a time, and libvirt refuses a second console session unless it is forced.
actor ConsoleSessions {
    private var holders: [DomainUUID: ConsoleLease] = [:]

    /// A lease on `uuid`'s console. With `force` the current holder is revoked; without it an active
    /// session is an error, with libvirt's message.
    func claim(_ uuid: DomainUUID, force: Bool) throws(LibvirtError) -> ConsoleLease {
        if let holder = holders[uuid] {
            guard force else { throw .operationFailed("Active console session exists for this domain") }
            holder.revoke()
        }
        let lease = ConsoleLease(uuid: uuid)
        holders[uuid] = lease
        return lease
    }

    /// Ends a lease; a lease already taken over releases nothing.
    func release(_ lease: ConsoleLease) {
        if holders[lease.uuid] === lease { holders[lease.uuid] = nil }
    }
}
