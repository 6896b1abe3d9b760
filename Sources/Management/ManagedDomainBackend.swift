import DomainXML
import LibvirtProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// The real `DomainBackend`: persistent domains in a `DomainStore`, transient ones in memory, and one
/// `swiftvirt run` process per running domain, driven over its control socket. VMM processes are
/// detached, so they outlive the daemon; a new backend re-adopts them from the run directory.
///
/// Create it with `open(_:)`, which loads the store, re-adopts running VMMs, runs autostart once per
/// host boot and starts watching for VMMs that exit on their own.
public actor ManagedDomainBackend: DomainBackend {
    public struct Configuration: Sendable {
        public var paths: ManagementPaths
        /// The `swiftvirt` executable started for each running domain.
        public var vmmExecutable: String
        /// How long a new VMM has to answer `status` on its control socket.
        public var startTimeout: Duration = .seconds(15)
        /// How long `destroy` waits after `quit` before it sends SIGKILL.
        public var quitTimeout: Duration = .seconds(5)
        /// Each control command's send and receive limit.
        public var controlTimeout: Duration = .seconds(3)
        /// How often running VMMs are checked for having exited by themselves.
        public var monitorInterval: Duration = .milliseconds(200)
        /// Told about what the backend had to skip or clean up (unreadable definitions, stale run
        /// files, VMMs that could not be re-adopted, autostart failures).
        public var notice: @Sendable (String) -> Void = { _ in }
        /// Told about every domain event (lifecycle changes, reboots), in order, from the backend's
        /// actor: it must not block.
        public var events: @Sendable (DomainEvent) -> Void = { _ in }
        /// The virtual networks `<interface type='network'>` attaches to; without them such
        /// interfaces are refused.
        public var networks: ManagedNetworks?

        public init(paths: ManagementPaths, vmmExecutable: String) {
            self.paths = paths
            self.vmmExecutable = vmmExecutable
        }
    }

    /// A running VMM process.
    struct RunningVMM: Hashable, Sendable {
        var pid: Int32
        var id: Int32
        var processStartTicks: UInt64
        var startedAt: Int64
        var paused: Bool
        var reason: Int32
        /// `shutdown --mode signal` sent `quit`: the exit that follows was the host's request.
        var hostShutdownRequested = false
    }

    /// One domain: its stored definition (nil for a transient domain), the definition its VMM runs
    /// (while active) and the VMM.
    struct Domain: Sendable {
        var name: String
        var uuid: DomainUUID
        var persistent: DomainDefinition?
        var live: DomainDefinition?
        var autostart: Bool = false
        var vmm: RunningVMM?
        /// Why the domain last stopped (`DomainStateReason`).
        var shutoffReason: Int32 = DomainStateReason.shutoffUnknown

        /// The definition that describes the domain now.
        var current: DomainDefinition? { vmm != nil ? (live ?? persistent) : (persistent ?? live) }

        var status: DomainStatus {
            guard let vmm else {
                return DomainStatus(
                    name: name, uuid: uuid, id: -1, state: .shutoff, reason: shutoffReason,
                    persistent: persistent != nil, autostart: autostart)
            }
            return DomainStatus(
                name: name, uuid: uuid, id: vmm.id, state: vmm.paused ? .paused : .running, reason: vmm.reason,
                persistent: persistent != nil, autostart: autostart)
        }
    }

    let configuration: Configuration
    let store: DomainStore
    var domains: [DomainUUID: Domain] = [:]
    var uuidsByName: [String: DomainUUID] = [:]
    var jobs = DomainJobQueue()
    var nextID: Int32 = 1
    /// The next `vnetN` tried for a bridge interface without a name of its own.
    var nextTapIndex = 0
    private var monitor: Task<Void, Never>?

    init(configuration: Configuration) {
        self.configuration = configuration
        self.store = DomainStore(paths: configuration.paths)
    }

    /// Loads, re-adopts and autostarts, then watches running VMMs until `close()`.
    public static func open(_ configuration: Configuration) async throws -> ManagedDomainBackend {
        let backend = ManagedDomainBackend(configuration: configuration)
        try await backend.recover()
        await backend.startMonitor()
        return backend
    }

    /// Stops watching VMMs. Running VMMs keep running, for the next backend to re-adopt.
    public func close() {
        monitor?.cancel()
        monitor = nil
    }

    deinit {
        monitor?.cancel()
    }

    private func startMonitor() {
        let interval = configuration.monitorInterval
        monitor = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self, !Task.isCancelled else { return }
                await self.reapExitedVMMs()
            }
        }
    }

    // MARK: Bookkeeping

    func insert(_ domain: Domain) {
        domains[domain.uuid] = domain
        uuidsByName[domain.name] = domain.uuid
    }

    func remove(_ uuid: DomainUUID) {
        guard let domain = domains.removeValue(forKey: uuid) else { return }
        if uuidsByName[domain.name] == uuid { uuidsByName[domain.name] = nil }
    }

    func existingDomain(_ uuid: DomainUUID) throws(LibvirtError) -> Domain {
        guard let domain = domains[uuid] else { throw .noDomain(.uuid(uuid)) }
        return domain
    }

    /// Reports a lifecycle change of `uuid`, as the domain is now.
    func emit(_ uuid: DomainUUID, _ event: DomainLifecycleEvent) {
        guard let domain = domains[uuid] else { return }
        emit(domain.status.remoteDomain, .lifecycle(event))
    }

    func emit(_ domain: RemoteDomain, _ kind: DomainEvent.Kind) {
        configuration.events(DomainEvent(domain: domain, kind: kind))
    }

    func takeID() -> Int32 {
        defer { nextID = nextID == Int32.max ? 1 : nextID + 1 }
        return nextID
    }

    /// Runs `body` holding `uuid`'s job.
    func withJob<T: Sendable>(_ uuid: DomainUUID, _ body: () async throws -> T) async throws -> T {
        if !jobs.tryAcquire(uuid) {
            await withCheckedContinuation { jobs.enqueue(uuid, $0) }
        }
        defer { jobs.release(uuid)?.resume() }
        return try await body()
    }

    /// Refuses a name or UUID that another domain holds (libvirt's virDomainObjListAdd rules).
    func checkIdentity(_ definition: DomainDefinition) throws(LibvirtError) {
        if let owner = uuidsByName[definition.name], owner != definition.uuid {
            throw .operationFailed("domain '\(definition.name)' already exists with uuid \(owner)")
        }
        if let existing = domains[definition.uuid], existing.name != definition.name {
            throw .operationFailed("domain '\(existing.name)' is already defined with uuid \(definition.uuid)")
        }
    }

    static func parse(_ xml: String) throws -> DomainDefinition {
        let definition = try DomainDefinition.parse(xml)
        try DefinitionFileName.check(definition.name)
        return definition
    }

    // MARK: DomainBackend: definitions and queries

    public func define(xml: String, flags: UInt32) async throws -> DomainStatus {
        // VIR_DOMAIN_DEFINE_VALIDATE: definitions are always validated.
        try LibvirtError.checkFlags(flags, allowed: 1, function: "virDomainDefineXMLFlags")
        let definition = try Self.parse(xml)
        try checkIdentity(definition)
        guard domains[definition.uuid] != nil else {
            try store.save(definition)
            insert(Domain(name: definition.name, uuid: definition.uuid, persistent: definition))
            emit(definition.uuid, .definedAdded)
            return try existingDomain(definition.uuid).status
        }
        return try await withJob(definition.uuid) {
            var domain = try existingDomain(definition.uuid)
            try checkIdentity(definition)
            try store.save(definition)
            // A running domain keeps its live definition; this one applies from its next start.
            // A transient domain that gets a definition becomes persistent: libvirt reports that as
            // added too.
            let event: DomainLifecycleEvent = domain.persistent == nil ? .definedAdded : .definedUpdated
            domain.persistent = definition
            domains[domain.uuid] = domain
            emit(domain.uuid, event)
            return domain.status
        }
    }

    public func undefine(_ uuid: DomainUUID, flags: UInt32) async throws {
        // Managed save, snapshot, NVRAM and checkpoint flags: SwiftVirt keeps none of these.
        try LibvirtError.checkFlags(flags, allowed: 0x1f, function: "virDomainUndefineFlags")
        try await withJob(uuid) {
            var domain = try existingDomain(uuid)
            guard domain.persistent != nil else {
                throw LibvirtError.operationInvalid("cannot undefine transient domain")
            }
            try store.remove(name: domain.name)
            domain.persistent = nil
            domain.autostart = false
            if domain.vmm == nil {
                remove(uuid)
            } else {
                domains[uuid] = domain
            }
            emit(domain.status.remoteDomain, .lifecycle(.undefinedRemoved))
        }
    }

    public func lookup(_ key: DomainKey) throws -> DomainStatus {
        let found: Domain?
        switch key {
        case .uuid(let uuid): found = domains[uuid]
        case .name(let name): found = uuidsByName[name].flatMap { domains[$0] }
        case .id(let id): found = domains.values.first { $0.vmm?.id == id }
        }
        guard let found else { throw LibvirtError.noDomain(key) }
        return found.status
    }

    public func list() -> [DomainStatus] {
        domains.values.map(\.status)
    }

    public func runtimeInfo(_ uuid: DomainUUID) async throws -> DomainRuntimeInfo {
        try await refreshRunState(uuid)
        let domain = try existingDomain(uuid)
        guard let definition = domain.current else { throw LibvirtError.noDomain(.uuid(uuid)) }
        return DomainRuntimeInfo(
            maxMemory: definition.memory, memory: definition.currentMemory,
            virtualCPUs: UInt16(clamping: definition.virtualCPUs),
            cpuTime: domain.vmm.map { HostProcesses.cpuTime(of: $0.pid) } ?? 0)
    }

    public func xmlDescription(_ uuid: DomainUUID, flags: DomainXMLFlags) throws -> String {
        let domain = try existingDomain(uuid)
        if flags.contains(.inactive), let persistent = domain.persistent { return persistent.xml() }
        guard let vmm = domain.vmm, let live = domain.live ?? domain.persistent else {
            guard let definition = domain.current else { throw LibvirtError.noDomain(.uuid(uuid)) }
            return definition.xml()
        }
        return live.xml(live: DomainLiveState(id: vmm.id))
    }

    public func setAutostart(_ uuid: DomainUUID, _ autostart: Bool) async throws {
        try await withJob(uuid) {
            var domain = try existingDomain(uuid)
            guard domain.persistent != nil else {
                throw LibvirtError.operationInvalid("cannot set autostart for transient domain")
            }
            try store.setAutostart(domain.name, autostart)
            domain.autostart = autostart
            domains[uuid] = domain
        }
    }

    public func messages(_ uuid: DomainUUID) throws -> [String] {
        try existingDomain(uuid).current?.warnings ?? []
    }

    public func openConsole(_ uuid: DomainUUID, device: String?, flags: UInt32) async throws -> ConsoleConnection {
        // VIR_DOMAIN_CONSOLE_FORCE and _SAFE concern sessions, which the RPC layer keeps.
        try LibvirtError.checkFlags(flags, allowed: 0x3, function: "virDomainOpenConsole")
        let domain = try existingDomain(uuid)
        guard domain.vmm != nil else { throw LibvirtError.operationInvalid("domain is not running") }
        if let device, !["serial0", "console0"].contains(device) {
            throw LibvirtError.internalError("cannot find character device \(device)")
        }
        let path = configuration.paths.runFiles(domain.name).serialSocket
        let descriptor: Int32
        do {
            descriptor = try await BlockingCall.run { () throws(SystemCallError) -> Int32 in
                try UnixSocket.connect(path)
            }
        } catch {
            throw LibvirtError.operationFailed("cannot connect to the console of domain '\(domain.name)': \(error)")
        }
        return ConsoleConnection(domainName: domain.name, descriptor: descriptor)
    }
}
