/// Storage pools on disk, laid out as libvirt's /etc/libvirt/storage: `<state>/storage/<name>.xml`
/// holds each persistent pool's definition (written atomically) and `<state>/storage/autostart/<name>`
/// links to it for pools the daemon starts. Active pools also have `<run>/storage/<name>.xml`, the
/// definition they run with, so a restarted daemon finds them (and transient ones) active again.
struct StoragePoolStore: Sendable {
    /// A persistent pool read back at start-up.
    struct StoredPool: Hashable, Sendable {
        var definition: StoragePoolDefinition
        var autostart: Bool
    }

    let paths: ManagementPaths

    /// Creates the directories if needed.
    func prepare() throws(ManagementError) {
        do {
            try HostFiles.makeDirectories(paths.storagePoolsDirectory, mode: 0o700)
            try HostFiles.makeDirectories(paths.storageAutostartDirectory, mode: 0o700)
            try HostFiles.makeDirectories(paths.activeStoragePoolsDirectory, mode: 0o700)
        } catch {
            throw .system(error)
        }
    }

    /// Every persistent pool, and one sentence per file that was skipped.
    func loadAll() -> (pools: [StoredPool], problems: [String]) {
        let (definitions, problems) = load(paths.storagePoolsDirectory)
        return (definitions.map { StoredPool(definition: $0, autostart: isAutostart($0.name)) }, problems)
    }

    /// The pools that were active when the daemon last ran.
    func loadActive() -> (pools: [StoragePoolDefinition], problems: [String]) {
        load(paths.activeStoragePoolsDirectory)
    }

    private func load(_ directory: String) -> ([StoragePoolDefinition], [String]) {
        DefinitionDirectory.load(
            directory, kind: "storage pool", parse: { try StoragePoolDefinition.parse($0) },
            identity: { ($0.name, $0.uuid) })
    }

    private var files: DefinitionDirectory {
        DefinitionDirectory(
            directory: paths.storagePoolsDirectory, autostartDirectory: paths.storageAutostartDirectory,
            linkPrefix: "../")
    }

    /// Writes (or replaces) a persistent pool's definition.
    func save(_ definition: StoragePoolDefinition) throws(ManagementError) {
        try files.save(definition.name, xml: definition.xml())
    }

    /// Records that a pool is active with `definition`.
    func saveActive(_ definition: StoragePoolDefinition) throws(ManagementError) {
        do {
            try HostFiles.writeAtomically(paths.activeStoragePoolFile(definition.name), Array(definition.xml().utf8))
        } catch {
            throw .system(error)
        }
    }

    /// Removes a persistent pool's definition and autostart link.
    func remove(name: String) throws(ManagementError) {
        try files.remove(name)
    }

    func removeActive(name: String) throws(ManagementError) {
        do {
            try HostFiles.remove(paths.activeStoragePoolFile(name))
        } catch {
            throw .system(error)
        }
    }

    func setAutostart(_ name: String, _ autostart: Bool) throws(ManagementError) {
        try files.setAutostart(name, autostart)
    }

    func isAutostart(_ name: String) -> Bool {
        files.isAutostart(name)
    }
}
