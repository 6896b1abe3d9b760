import DomainXML
import LibvirtProtocol

@testable import swiftvirtd

/// A `DomainBackend` that keeps domains in memory and changes state at once (shutdown is immediate),
/// so the daemon's RPC layer can be driven by real clients without a VMM.
actor InMemoryDomainBackend: DomainBackend {
    private struct Entry {
        var definition: DomainDefinition
        var status: DomainStatus
    }

    private var domains: [DomainUUID: Entry] = [:]
    private var nextID: Int32 = 1

    func define(xml: String, flags: UInt32) throws -> DomainStatus {
        let definition = try DomainDefinition.parse(xml)
        if let clash = domains.values.first(where: { $0.status.name == definition.name }),
            clash.status.uuid != definition.uuid
        {
            throw LibvirtError.operationFailed(
                "domain '\(definition.name)' already exists with uuid \(clash.status.uuid)")
        }
        if var entry = domains[definition.uuid] {
            guard entry.status.name == definition.name else {
                throw LibvirtError.operationFailed(
                    "domain '\(entry.status.name)' is already defined with uuid \(definition.uuid)")
            }
            entry.definition = definition
            entry.status.persistent = true
            domains[definition.uuid] = entry
            return entry.status
        }
        let status = DomainStatus(name: definition.name, uuid: definition.uuid)
        domains[definition.uuid] = Entry(definition: definition, status: status)
        return status
    }

    func undefine(_ uuid: DomainUUID, flags: UInt32) throws {
        let entry = try entry(uuid)
        guard entry.status.persistent else { throw LibvirtError.operationInvalid("cannot undefine transient domain") }
        if entry.status.state.isActive {
            domains[uuid]?.status.persistent = false
            domains[uuid]?.status.autostart = false
        } else {
            domains[uuid] = nil
        }
    }

    func createTransient(xml: String, flags: UInt32) throws -> DomainStatus {
        let definition = try DomainDefinition.parse(xml)
        guard domains[definition.uuid] == nil, !domains.values.contains(where: { $0.status.name == definition.name })
        else {
            throw LibvirtError.operationFailed("domain '\(definition.name)' already exists")
        }
        var status = DomainStatus(name: definition.name, uuid: definition.uuid, persistent: false)
        status.state = .running
        status.reason = DomainStateReason.runningBooted
        status.id = takeID()
        domains[definition.uuid] = Entry(definition: definition, status: status)
        return status
    }

    func lookup(_ key: DomainKey) throws -> DomainStatus {
        let found: Entry?
        switch key {
        case .uuid(let uuid): found = domains[uuid]
        case .name(let name): found = domains.values.first { $0.status.name == name }
        case .id(let id): found = domains.values.first { $0.status.state.isActive && $0.status.id == id }
        }
        guard let found else { throw LibvirtError.noDomain(key) }
        return found.status
    }

    func list() -> [DomainStatus] {
        domains.values.map(\.status)
    }

    func start(_ uuid: DomainUUID, flags: UInt32) throws -> DomainStatus {
        let entry = try entry(uuid)
        guard !entry.status.state.isActive else { throw LibvirtError.operationInvalid("domain is already running") }
        domains[uuid]?.status.state = .running
        domains[uuid]?.status.reason = DomainStateReason.runningBooted
        domains[uuid]?.status.id = takeID()
        return try self.entry(uuid).status
    }

    func destroy(_ uuid: DomainUUID, flags: UInt32) throws {
        try stop(uuid, reason: DomainStateReason.shutoffDestroyed)
    }

    func shutdown(_ uuid: DomainUUID, flags: UInt32) throws {
        try stop(uuid, reason: DomainStateReason.shutoffShutdown)
    }

    func reboot(_ uuid: DomainUUID, flags: UInt32) throws {
        guard try entry(uuid).status.state.isActive else {
            throw LibvirtError.operationInvalid("domain is not running")
        }
    }

    func suspend(_ uuid: DomainUUID) throws {
        guard try entry(uuid).status.state == .running else {
            throw LibvirtError.operationInvalid("domain is not running")
        }
        domains[uuid]?.status.state = .paused
        domains[uuid]?.status.reason = DomainStateReason.pausedUser
    }

    func resume(_ uuid: DomainUUID) throws {
        guard try entry(uuid).status.state == .paused else {
            throw LibvirtError.operationInvalid("domain is not paused")
        }
        domains[uuid]?.status.state = .running
        domains[uuid]?.status.reason = DomainStateReason.runningUnpaused
    }

    func runtimeInfo(_ uuid: DomainUUID) throws -> DomainRuntimeInfo {
        let entry = try entry(uuid)
        return DomainRuntimeInfo(
            maxMemory: entry.definition.memory, memory: entry.definition.currentMemory,
            virtualCPUs: UInt16(clamping: entry.definition.virtualCPUs),
            cpuTime: entry.status.state.isActive ? 1_000_000 : 0)
    }

    func xmlDescription(_ uuid: DomainUUID, flags: DomainXMLFlags) throws -> String {
        let entry = try entry(uuid)
        guard entry.status.state.isActive, !flags.contains(.inactive) else { return entry.definition.xml() }
        return entry.definition.xml(live: DomainLiveState(id: entry.status.id, serialPTYPaths: [0: "/dev/pts/99"]))
    }

    func setAutostart(_ uuid: DomainUUID, _ autostart: Bool) throws {
        guard try entry(uuid).status.persistent else {
            throw LibvirtError.operationInvalid("cannot set autostart for transient domain")
        }
        domains[uuid]?.status.autostart = autostart
    }

    func messages(_ uuid: DomainUUID) throws -> [String] {
        try entry(uuid).definition.warnings
    }

    private func entry(_ uuid: DomainUUID) throws -> Entry {
        guard let entry = domains[uuid] else { throw LibvirtError.noDomain(.uuid(uuid)) }
        return entry
    }

    private func stop(_ uuid: DomainUUID, reason: Int32) throws {
        let entry = try entry(uuid)
        guard entry.status.state.isActive else { throw LibvirtError.operationInvalid("domain is not running") }
        if !entry.status.persistent {
            domains[uuid] = nil
            return
        }
        domains[uuid]?.status.state = .shutoff
        domains[uuid]?.status.reason = reason
        domains[uuid]?.status.id = -1
    }

    private func takeID() -> Int32 {
        defer { nextID += 1 }
        return nextID
    }
}
