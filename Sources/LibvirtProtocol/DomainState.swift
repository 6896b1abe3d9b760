/// `virDomainState` (include/libvirt/libvirt-domain.h), as sent in DOMAIN_GET_INFO and DOMAIN_GET_STATE.
public enum DomainState: Int32, Sendable, CaseIterable {
    case noState = 0
    case running = 1
    case blocked = 2
    case paused = 3
    /// Being shut down.
    case shutdown = 4
    case shutoff = 5
    case crashed = 6
    case pmSuspended = 7

    /// Whether the domain has a running (or paused) machine and therefore an ID.
    public var isActive: Bool {
        switch self {
        case .shutoff, .noState: return false
        default: return true
        }
    }
}

/// `virDomainRunningReason`, `virDomainPausedReason` and `virDomainShutoffReason` values sent with
/// DOMAIN_GET_STATE.
public enum DomainStateReason {
    /// VIR_DOMAIN_RUNNING_BOOTED.
    public static let runningBooted: Int32 = 1
    /// VIR_DOMAIN_RUNNING_UNPAUSED.
    public static let runningUnpaused: Int32 = 5
    /// VIR_DOMAIN_PAUSED_USER.
    public static let pausedUser: Int32 = 1
    /// VIR_DOMAIN_SHUTOFF_UNKNOWN.
    public static let shutoffUnknown: Int32 = 0
    /// VIR_DOMAIN_SHUTOFF_SHUTDOWN.
    public static let shutoffShutdown: Int32 = 1
    /// VIR_DOMAIN_SHUTOFF_DESTROYED.
    public static let shutoffDestroyed: Int32 = 2
}

/// `virConnectListAllDomainsFlags`: filters for CONNECT_LIST_ALL_DOMAINS. Within each group, setting
/// both or neither bit means "don't filter"; the state bits select any of the named states.
public struct ListAllDomainsFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let active = ListAllDomainsFlags(rawValue: 1 << 0)
    public static let inactive = ListAllDomainsFlags(rawValue: 1 << 1)
    public static let persistent = ListAllDomainsFlags(rawValue: 1 << 2)
    public static let transient = ListAllDomainsFlags(rawValue: 1 << 3)
    public static let running = ListAllDomainsFlags(rawValue: 1 << 4)
    public static let paused = ListAllDomainsFlags(rawValue: 1 << 5)
    public static let shutoff = ListAllDomainsFlags(rawValue: 1 << 6)
    public static let other = ListAllDomainsFlags(rawValue: 1 << 7)
    public static let managedSave = ListAllDomainsFlags(rawValue: 1 << 8)
    public static let noManagedSave = ListAllDomainsFlags(rawValue: 1 << 9)
    public static let autostart = ListAllDomainsFlags(rawValue: 1 << 10)
    public static let noAutostart = ListAllDomainsFlags(rawValue: 1 << 11)
    public static let hasSnapshot = ListAllDomainsFlags(rawValue: 1 << 12)
    public static let noSnapshot = ListAllDomainsFlags(rawValue: 1 << 13)
    public static let hasCheckpoint = ListAllDomainsFlags(rawValue: 1 << 14)
    public static let noCheckpoint = ListAllDomainsFlags(rawValue: 1 << 15)

    /// Every bit libvirt 9.0 defines; others are rejected as unsupported flags.
    public static let all = ListAllDomainsFlags(rawValue: 0xFFFF)

    /// What the filters look at for one domain.
    public struct Subject: Sendable {
        public var state: DomainState
        public var persistent: Bool
        public var autostart: Bool
        public var hasManagedSave: Bool
        public var hasSnapshot: Bool
        public var hasCheckpoint: Bool

        public init(
            state: DomainState, persistent: Bool, autostart: Bool, hasManagedSave: Bool = false,
            hasSnapshot: Bool = false, hasCheckpoint: Bool = false
        ) {
            self.state = state
            self.persistent = persistent
            self.autostart = autostart
            self.hasManagedSave = hasManagedSave
            self.hasSnapshot = hasSnapshot
            self.hasCheckpoint = hasCheckpoint
        }
    }

    /// Whether a domain passes these filters (the rules of libvirt's virDomainObjMatchFilter).
    public func matches(_ subject: Subject) -> Bool {
        func pair(_ yes: ListAllDomainsFlags, _ no: ListAllDomainsFlags, _ value: Bool) -> Bool {
            let wantsYes = contains(yes)
            let wantsNo = contains(no)
            if wantsYes == wantsNo { return true }
            return wantsYes ? value : !value
        }
        guard pair(.active, .inactive, subject.state.isActive),
            pair(.persistent, .transient, subject.persistent),
            pair(.managedSave, .noManagedSave, subject.hasManagedSave),
            pair(.autostart, .noAutostart, subject.autostart),
            pair(.hasSnapshot, .noSnapshot, subject.hasSnapshot),
            pair(.hasCheckpoint, .noCheckpoint, subject.hasCheckpoint)
        else { return false }
        let stateFilters = intersection([.running, .paused, .shutoff, .other])
        if stateFilters.isEmpty { return true }
        switch subject.state {
        case .running: return stateFilters.contains(.running)
        case .paused: return stateFilters.contains(.paused)
        case .shutoff: return stateFilters.contains(.shutoff)
        default: return stateFilters.contains(.other)
        }
    }
}
