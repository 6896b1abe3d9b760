import DomainXML
import LibvirtProtocol

/// A definition the daemon keeps on disk: a name that is its file name, a UUID, and XML both ways.
protocol StorableDefinition: Hashable, Sendable {
    /// "domain", "network": for the sentences about skipped files.
    static var kind: String { get }
    var name: String { get }
    var uuid: DomainUUID { get }
    /// The persistent XML.
    var storedXML: String { get }
    static func parseStored(_ text: String) throws -> Self
}

extension DomainDefinition: StorableDefinition {
    static var kind: String { "domain" }
    var storedXML: String { xml() }
    static func parseStored(_ text: String) throws -> DomainDefinition { try parse(text) }
}

extension NetworkDefinition: StorableDefinition {
    static var kind: String { "network" }
    var storedXML: String { xml() }
    static func parseStored(_ text: String) throws -> NetworkDefinition { try parse(text) }
}

/// Persistent definitions of one kind on disk, typed: a `DefinitionDirectory` (atomic
/// `<directory>/<name>.xml` files and autostart links, as libvirt lays out /etc/libvirt/qemu and
/// /etc/libvirt/qemu/networks) that reads and writes `Definition` values.
struct DefinitionStore<Definition: StorableDefinition>: Sendable {
    /// A definition read back at start-up.
    struct Stored: Hashable, Sendable {
        var definition: Definition
        var autostart: Bool
    }

    private let files: DefinitionDirectory

    init(directory: String, autostartDirectory: String, autostartTargetPrefix: String) {
        files = DefinitionDirectory(
            directory: directory, autostartDirectory: autostartDirectory, linkPrefix: autostartTargetPrefix)
    }

    func definitionFile(_ name: String) -> String { files.file(name) }
    func autostartLink(_ name: String) -> String { files.link(name) }

    /// Creates the directories if needed.
    func prepare() throws(ManagementError) {
        do {
            try HostFiles.makeDirectories(files.directory)
            try HostFiles.makeDirectories(files.autostartDirectory)
        } catch {
            throw .system(error)
        }
    }

    /// Every stored definition, and one sentence per file that was skipped (see `DefinitionDirectory`).
    func loadAll() -> (definitions: [Stored], problems: [String]) {
        let (definitions, problems) = DefinitionDirectory.load(
            files.directory, kind: Definition.kind, parse: { try Definition.parseStored($0) },
            identity: { ($0.name, $0.uuid) })
        return (definitions.map { Stored(definition: $0, autostart: isAutostart($0.name)) }, problems)
    }

    /// Writes (or replaces) a definition.
    func save(_ definition: Definition) throws(ManagementError) {
        try files.save(definition.name, xml: definition.storedXML)
    }

    /// Removes a definition and its autostart link.
    func remove(name: String) throws(ManagementError) {
        try files.remove(name)
    }

    func setAutostart(_ name: String, _ autostart: Bool) throws(ManagementError) {
        try files.setAutostart(name, autostart)
    }

    func isAutostart(_ name: String) -> Bool {
        files.isAutostart(name)
    }
}

/// `<state>/domains/<name>.xml`, with `<state>/autostart/<name>` → `../domains/<name>.xml`.
typealias DomainStore = DefinitionStore<DomainDefinition>

extension DefinitionStore where Definition == DomainDefinition {
    init(paths: ManagementPaths) {
        self.init(
            directory: paths.domainsDirectory, autostartDirectory: paths.autostartDirectory,
            autostartTargetPrefix: "../domains/")
    }
}

/// `<state>/networks/<name>.xml`, with `<state>/networks/autostart/<name>` → `../<name>.xml` (libvirt's
/// /etc/libvirt/qemu/networks layout).
typealias NetworkStore = DefinitionStore<NetworkDefinition>

extension DefinitionStore where Definition == NetworkDefinition {
    init(paths: ManagementPaths) {
        self.init(
            directory: paths.networksDirectory, autostartDirectory: paths.networksDirectory + "/autostart",
            autostartTargetPrefix: "../")
    }
}
