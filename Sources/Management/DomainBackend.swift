import LibvirtProtocol

/// What the RPC dispatcher needs from whatever owns the domains (`ManagedDomainBackend`, or a fake in
/// tests). Domains are addressed by UUID, as libvirt's drivers do with the domain a client sends.
/// Methods throw `LibvirtError` for failures the client should see with a libvirt code
/// (`LibvirtError.noDomain(uuid:name:)`, `.operationInvalid("domain is not running")`...); any other
/// error is reported as an internal error.
public protocol DomainBackend: Sendable {
    /// Defines (or redefines, same name and UUID) a persistent domain from libvirt XML.
    func define(xml: String, flags: UInt32) async throws -> DomainStatus
    /// Removes a persistent domain's definition; a running domain becomes transient.
    func undefine(_ uuid: DomainUUID, flags: UInt32) async throws
    /// Creates and starts a transient domain (DOMAIN_CREATE_XML).
    func createTransient(xml: String, flags: UInt32) async throws -> DomainStatus
    /// Throws `LibvirtError.noDomain` if no domain matches.
    func lookup(_ key: DomainKey) async throws -> DomainStatus
    /// Every domain, active and defined.
    func list() async throws -> [DomainStatus]
    /// Starts a defined domain; returns its status with the new id.
    func start(_ uuid: DomainUUID, flags: UInt32) async throws -> DomainStatus
    /// Stops the machine at once.
    func destroy(_ uuid: DomainUUID, flags: UInt32) async throws
    /// Asks the guest to power off (ACPI power button); returns without waiting.
    func shutdown(_ uuid: DomainUUID, flags: UInt32) async throws
    /// Asks the guest to reboot.
    func reboot(_ uuid: DomainUUID, flags: UInt32) async throws
    func suspend(_ uuid: DomainUUID) async throws
    func resume(_ uuid: DomainUUID) async throws
    func runtimeInfo(_ uuid: DomainUUID) async throws -> DomainRuntimeInfo
    /// libvirt domain XML; the running configuration unless `flags` contains `.inactive`.
    func xmlDescription(_ uuid: DomainUUID, flags: DomainXMLFlags) async throws -> String
    func setAutostart(_ uuid: DomainUUID, _ autostart: Bool) async throws
    /// Notes shown by `virsh dominfo` (e.g. XML parts that are kept but not used).
    func messages(_ uuid: DomainUUID) async throws -> [String]
    /// Connects to a running domain's serial console (DOMAIN_OPEN_CONSOLE). `device` is libvirt's
    /// alias ("serial0", "console0") or nil for the first console.
    func openConsole(_ uuid: DomainUUID, device: String?, flags: UInt32) async throws -> ConsoleConnection
}

extension DomainBackend {
    public func messages(_ uuid: DomainUUID) async throws -> [String] { [] }

    public func openConsole(_ uuid: DomainUUID, device: String?, flags: UInt32) async throws -> ConsoleConnection {
        throw LibvirtError.noSupport("virDomainOpenConsole")
    }
}

/// How a client names a domain in a lookup.
public enum DomainKey: Hashable, Sendable, CustomStringConvertible {
    case name(String)
    case uuid(DomainUUID)
    case id(Int32)

    public var description: String {
        switch self {
        case .name(let name): return "no domain with matching name '\(name)'"
        case .uuid(let uuid): return "no domain with matching uuid '\(uuid)'"
        case .id(let id): return "no domain with matching id \(id)"
        }
    }
}

/// A domain's identity and lifecycle state, as lists and lookups report it.
public struct DomainStatus: Hashable, Sendable {
    public var name: String
    public var uuid: DomainUUID
    /// Positive while active, -1 otherwise.
    public var id: Int32
    public var state: DomainState
    /// The state-specific reason (`DomainStateReason`).
    public var reason: Int32
    public var persistent: Bool
    public var autostart: Bool

    public init(
        name: String, uuid: DomainUUID, id: Int32 = -1, state: DomainState = .shutoff,
        reason: Int32 = DomainStateReason.shutoffUnknown, persistent: Bool = true, autostart: Bool = false
    ) {
        self.name = name
        self.uuid = uuid
        self.id = id
        self.state = state
        self.reason = reason
        self.persistent = persistent
        self.autostart = autostart
    }

    public var remoteDomain: RemoteDomain { RemoteDomain(name: name, uuid: uuid, id: state.isActive ? id : -1) }

    public var filterSubject: ListAllDomainsFlags.Subject {
        ListAllDomainsFlags.Subject(state: state, persistent: persistent, autostart: autostart)
    }
}

/// What DOMAIN_GET_INFO reports besides the state.
public struct DomainRuntimeInfo: Hashable, Sendable {
    /// KiB.
    public var maxMemory: UInt64
    /// KiB.
    public var memory: UInt64
    public var virtualCPUs: UInt16
    /// Nanoseconds of CPU time the guest has used; 0 when inactive.
    public var cpuTime: UInt64

    public init(maxMemory: UInt64, memory: UInt64, virtualCPUs: UInt16, cpuTime: UInt64) {
        self.maxMemory = maxMemory
        self.memory = memory
        self.virtualCPUs = virtualCPUs
        self.cpuTime = cpuTime
    }
}

extension LibvirtError {
    /// The message libvirt's drivers give when a domain from the client no longer exists.
    public static func noDomain(uuid: DomainUUID, name: String) -> LibvirtError {
        .noDomain("no domain with matching uuid '\(uuid)' (\(name))")
    }

    public static func noDomain(_ key: DomainKey) -> LibvirtError {
        .noDomain(key.description)
    }
}
