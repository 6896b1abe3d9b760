import LibvirtProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's storage pools: persistent and transient directory pools, their lifecycle (define,
/// build, start, destroy, undefine) and autostart. Volumes are in StoragePools+Volumes.swift.
///
/// A pool is active while it has a running definition; it is persistent while it has a stored one.
/// Every refusal is the libvirt error a libvirt client expects for it.
public actor StoragePools {
    /// One pool: `config` is the persistent definition (nil for a transient pool), `live` the one it
    /// runs with (nil while inactive). Both name the same pool (name and UUID).
    struct Pool: Sendable {
        var config: StoragePoolDefinition?
        var live: StoragePoolDefinition?
        var autostart: Bool

        var current: StoragePoolDefinition {
            guard let definition = live ?? config else { preconditionFailure("a pool is active or persistent") }
            return definition
        }

        var status: StoragePoolStatus {
            StoragePoolStatus(
                name: current.name, uuid: current.uuid, isActive: live != nil, isPersistent: config != nil,
                autostart: autostart)
        }
    }

    let store: StoragePoolStore
    var pools: [DomainUUID: Pool] = [:]

    /// Pools under `paths`, none loaded yet (`open` loads them).
    public init(paths: ManagementPaths) {
        store = StoragePoolStore(paths: paths)
    }

    /// Loads the stored pools, marks the ones that were active before a daemon restart active again,
    /// then, the first time in this boot, starts autostart pools that are not. `notice` gets one sentence per problem (a skipped
    /// file, a pool that did not start); none of them stops the daemon.
    public static func open(paths: ManagementPaths, notice: (String) -> Void = { _ in }) async -> StoragePools {
        let pools = StoragePools(paths: paths)
        for problem in await pools.load() { notice(problem) }
        return pools
    }

    private func load() -> [String] {
        do {
            try store.prepare()
        } catch {
            return ["storage pools are unavailable: \(error)"]
        }
        let (stored, problems) = store.loadAll()
        var notices = problems
        for pool in stored {
            pools[pool.definition.uuid] = Pool(config: pool.definition, live: nil, autostart: pool.autostart)
        }
        let (active, activeProblems) = store.loadActive()
        notices += activeProblems
        for definition in active {
            if var pool = pools[definition.uuid], pool.current.name == definition.name {
                pool.live = definition
                pools[definition.uuid] = pool
            } else if pools.values.contains(where: { $0.current.name == definition.name }) {
                notices.append("storage pool '\(definition.name)' was active with another uuid; left inactive")
                try? store.removeActive(name: definition.name)
            } else {
                pools[definition.uuid] = Pool(config: nil, live: definition, autostart: false)
            }
        }
        // Once per boot, as libvirtd: a daemon restart does not start again a pool a user stopped.
        guard
            HostProcesses.firstTimeThisBoot(
                marker: store.paths.storageAutostartDoneMarker, notice: { notices.append($0) })
        else { return notices }
        for pool in pools.values.sorted(by: { $0.current.name < $1.current.name })
        where pool.autostart && pool.live == nil {
            do {
                try start(pool.current.uuid, flags: [])
            } catch {
                notices.append("autostart of storage pool '\(pool.current.name)' failed: \(error.message)")
            }
        }
        return notices
    }

    // MARK: Listing and lookup

    /// Every pool, by name.
    public func list() -> [StoragePoolStatus] {
        pools.values.map(\.status).sorted { $0.name < $1.name }
    }

    public func lookup(name: String) throws(LibvirtError) -> StoragePoolStatus {
        guard let pool = pools.values.first(where: { $0.current.name == name }) else {
            throw .noStoragePool("no storage pool with matching name '\(name)'")
        }
        return pool.status
    }

    public func lookup(uuid: DomainUUID) throws(LibvirtError) -> StoragePoolStatus {
        try pool(uuid).status
    }

    /// The pool whose directory is `path` (cleaned as libvirt cleans it).
    public func lookup(targetPath path: String) throws(LibvirtError) -> StoragePoolStatus {
        let cleaned = StoragePath.clean(path)
        guard let pool = pools.values.first(where: { $0.current.targetPath == cleaned }) else {
            throw .noStoragePool("no storage pool with matching target path '\(path)'")
        }
        return pool.status
    }

    func pool(_ uuid: DomainUUID) throws(LibvirtError) -> Pool {
        guard let pool = pools[uuid] else {
            throw .noStoragePool("no storage pool with matching uuid '\(uuid)'")
        }
        return pool
    }

    /// The running definition of an active pool.
    func activePool(_ uuid: DomainUUID) throws(LibvirtError) -> StoragePoolDefinition {
        let pool = try pool(uuid)
        guard let live = pool.live else {
            throw .operationInvalid("storage pool '\(pool.current.name)' is not active", domain: .storage)
        }
        return live
    }

    // MARK: Definition

    /// Defines a persistent pool, or replaces the definition of an existing one (the same name and
    /// UUID; an active pool keeps running with its old definition until it is restarted).
    public func define(xml: String) throws -> StoragePoolStatus {
        let definition = try StoragePoolDefinition.parse(xml)
        try DefinitionFileName.check(definition.name, kind: "storage pool")
        try checkDuplicates(definition)
        var pool = pools[definition.uuid] ?? Pool(config: nil, live: nil, autostart: false)
        try store.save(definition)
        pool.config = definition
        pools[definition.uuid] = pool
        return pool.status
    }

    /// Creates and starts a transient pool (`flags` may ask to build it first).
    public func createTransient(xml: String, flags: StoragePoolCreateFlags) throws -> StoragePoolStatus {
        let definition = try StoragePoolDefinition.parse(xml)
        try DefinitionFileName.check(definition.name, kind: "storage pool")
        try checkDuplicates(definition)
        if let existing = pools[definition.uuid] {
            throw LibvirtError.operationInvalid(
                "storage pool '\(existing.current.name)' is already defined; start it instead", domain: .storage)
        }
        try checkCreateFlags(flags)
        if !flags.isDisjoint(with: .all) { try build(definition, overwrite: flags.contains(.withBuildOverwrite)) }
        try activate(definition)
        let pool = Pool(config: nil, live: definition, autostart: false)
        pools[definition.uuid] = pool
        return pool.status
    }

    /// libvirt's duplicate rules: a name belongs to one UUID and a UUID to one name, and two pools
    /// do not share a directory.
    private func checkDuplicates(_ definition: StoragePoolDefinition) throws(LibvirtError) {
        for pool in pools.values {
            let other = pool.current
            if other.uuid == definition.uuid, other.name != definition.name {
                throw .operationFailed(
                    "pool '\(other.name)' is already defined with uuid \(other.uuid)", domain: .storage)
            }
            if other.name == definition.name, other.uuid != definition.uuid {
                throw .operationFailed(
                    "pool '\(other.name)' already exists with uuid \(other.uuid)", domain: .storage)
            }
            if other.uuid != definition.uuid, other.targetPath == definition.targetPath {
                throw .operationFailed("Storage source conflict with pool: '\(other.name)'", domain: .storage)
            }
        }
    }

    /// Removes an inactive pool's definition; its directory and volumes stay.
    public func undefine(_ uuid: DomainUUID) throws {
        let pool = try pool(uuid)
        guard pool.live == nil else {
            throw LibvirtError.operationInvalid("storage pool '\(pool.current.name)' is still active", domain: .storage)
        }
        try store.remove(name: pool.current.name)
        pools[uuid] = nil
    }

    public func setAutostart(_ uuid: DomainUUID, _ autostart: Bool) throws {
        var pool = try pool(uuid)
        guard pool.config != nil else {
            throw LibvirtError.operationInvalid("cannot set autostart for transient pool", domain: .storage)
        }
        try store.setAutostart(pool.current.name, autostart)
        pool.autostart = autostart
        pools[uuid] = pool
    }

    // MARK: Lifecycle

    /// Makes an inactive pool's directory (with its permissions); an existing directory is kept.
    public func build(_ uuid: DomainUUID, flags: StoragePoolBuildFlags) throws {
        let pool = try pool(uuid)
        guard pool.live == nil else {
            throw LibvirtError.operationInvalid(
                "storage pool '\(pool.current.name)' is already active", domain: .storage)
        }
        if flags.contains(.overwrite) && flags.contains(.noOverwrite) {
            throw LibvirtError.invalidArgument("Overwrite and no overwrite flags are mutually exclusive")
        }
        try build(pool.current, overwrite: flags.contains(.overwrite))
    }

    /// Starts an inactive pool (`flags` may ask to build it first).
    public func start(_ uuid: DomainUUID, flags: StoragePoolCreateFlags) throws(LibvirtError) {
        var pool = try pool(uuid)
        guard pool.live == nil else {
            throw .operationInvalid("storage pool '\(pool.current.name)' is already active", domain: .storage)
        }
        try checkCreateFlags(flags)
        if !flags.isDisjoint(with: .all) { try build(pool.current, overwrite: flags.contains(.withBuildOverwrite)) }
        try activate(pool.current)
        pool.live = pool.current
        pools[uuid] = pool
    }

    /// Stops an active pool; a transient pool is gone afterwards. Volumes stay on disk.
    public func destroy(_ uuid: DomainUUID) throws {
        var pool = try pool(uuid)
        guard let live = pool.live else {
            throw LibvirtError.operationInvalid("storage pool '\(pool.current.name)' is not active", domain: .storage)
        }
        try store.removeActive(name: live.name)
        pool.live = nil
        pools[uuid] = pool.config == nil ? nil : pool
    }

    /// Removes an inactive pool's (empty) directory, the reverse of `build`.
    public func delete(_ uuid: DomainUUID, flags: UInt32) throws(LibvirtError) {
        let pool = try pool(uuid)
        guard pool.live == nil else {
            throw .operationInvalid("storage pool '\(pool.current.name)' is still active", domain: .storage)
        }
        guard flags == 0 else { throw .unsupportedFlags(flags, function: "virStoragePoolDelete") }
        do {
            try HostFiles.removeDirectory(pool.current.targetPath)
        } catch {
            throw Self.systemError("cannot remove directory '\(pool.current.targetPath)'", error)
        }
    }

    /// Volumes are read from the directory on every call, so refreshing only checks the pool runs.
    public func refresh(_ uuid: DomainUUID) throws(LibvirtError) {
        _ = try activePool(uuid)
    }

    /// virStoragePoolInfo: running (2) with the file system's sizes, or inactive (0) with zeroes.
    public func info(_ uuid: DomainUUID) throws(LibvirtError) -> StoragePoolInfoReply {
        let pool = try pool(uuid)
        guard let live = pool.live else {
            return StoragePoolInfoReply(state: 0, capacity: 0, allocation: 0, available: 0)
        }
        let space = (try? HostFiles.fileSystemSpace(live.targetPath)) ?? .zero
        return StoragePoolInfoReply(
            state: 2, capacity: space.capacity, allocation: space.allocation, available: space.available)
    }

    /// The running definition with its sizes, or with `inactive` the persistent one.
    public func xmlDescription(_ uuid: DomainUUID, flags: StorageXMLFlags) throws(LibvirtError) -> String {
        let pool = try pool(uuid)
        if flags.contains(.inactive), let config = pool.config { return config.xml() }
        guard let live = pool.live else { return pool.current.xml() }
        return live.xml(
            space: (try? HostFiles.fileSystemSpace(live.targetPath)) ?? .zero,
            directory: try? HostFiles.status(live.targetPath))
    }

    private func checkCreateFlags(_ flags: StoragePoolCreateFlags) throws(LibvirtError) {
        let unknown = flags.subtracting(.all)
        guard unknown.isEmpty else { throw .unsupportedFlags(unknown.rawValue, function: "virStoragePoolCreate") }
        if flags.contains(.withBuildOverwrite) && flags.contains(.withBuildNoOverwrite) {
            throw .invalidArgument("Overwrite and no overwrite flags are mutually exclusive")
        }
    }

    /// mkdir -p, then the defined mode (libvirt's 0711 for a directory it makes), owner and group.
    private func build(_ definition: StoragePoolDefinition, overwrite: Bool) throws(LibvirtError) {
        let path = definition.targetPath
        let existed = (try? HostFiles.status(path))?.kind == .directory
        let permissions = definition.permissions
        do {
            try HostFiles.makeDirectories(path, mode: 0o711)
            let mode = permissions.mode ?? (existed ? nil : 0o711)
            try HostFiles.setOwnership(
                path, mode: mode.map { mode_t($0) }, owner: permissions.owner, group: permissions.group)
        } catch {
            throw Self.systemError("cannot create path '\(path)'", error)
        }
    }

    /// Checks the directory is there and records the pool as active.
    private func activate(_ definition: StoragePoolDefinition) throws(LibvirtError) {
        let path = definition.targetPath
        let status: FileStatus
        do {
            status = try HostFiles.status(path)
        } catch {
            throw Self.systemError("cannot open directory '\(path)'", error)
        }
        guard status.kind == .directory else {
            throw .operationInvalid("storage pool target path '\(path)' is not a directory", domain: .storage)
        }
        do {
            try store.saveActive(definition)
        } catch {
            throw error.libvirtError
        }
    }

    /// VIR_ERR_SYSTEM_ERROR as libvirt's virReportSystemError words it ("<what>: <strerror>").
    static func systemError(_ what: String, _ error: SystemCallError) -> LibvirtError {
        LibvirtError(code: .systemError, domain: .storage, message: "\(what): \(error.reason)")
    }

}
