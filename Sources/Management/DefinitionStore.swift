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

/// Persistent definitions on disk: `<directory>/<name>.xml` holds each definition (written
/// atomically, so a crash leaves the old or the new file, never half of one) and
/// `<autostart>/<name>` is a symlink to it for definitions that start with the host, as libvirt lays
/// out /etc/libvirt/qemu and /etc/libvirt/qemu/networks.
struct DefinitionStore<Definition: StorableDefinition>: Sendable {
    /// A definition read back at start-up.
    struct Stored: Hashable, Sendable {
        var definition: Definition
        var autostart: Bool
    }

    let directory: String
    let autostartDirectory: String
    /// Where an autostart link points, relative to the autostart directory, without the file name.
    let autostartTargetPrefix: String

    func definitionFile(_ name: String) -> String { directory + "/" + name + ".xml" }
    func autostartLink(_ name: String) -> String { autostartDirectory + "/" + name }

    /// Creates the directories if needed.
    func prepare() throws(ManagementError) {
        do {
            try HostFiles.makeDirectories(directory)
            try HostFiles.makeDirectories(autostartDirectory)
        } catch {
            throw .system(error)
        }
    }

    /// Every stored definition, and one sentence per file that was skipped (unreadable or invalid XML,
    /// a name that does not match the file, a UUID already taken). Leftover temporary files from an
    /// interrupted write are removed; the file they were replacing is intact.
    func loadAll() -> (definitions: [Stored], problems: [String]) {
        var definitions: [Stored] = []
        var problems: [String] = []
        let names: [String]
        do {
            names = try HostFiles.list(directory)
        } catch {
            return ([], ["cannot list stored \(Definition.kind)s: \(error)"])
        }
        var seenUUIDs: [DomainUUID: String] = [:]
        for fileName in names.sorted() {
            let path = directory + "/" + fileName
            if HostFiles.isTemporaryName(fileName) {
                try? HostFiles.remove(path)
                continue
            }
            guard fileName.hasSuffix(".xml"), !fileName.hasPrefix(".") else { continue }
            let name = String(fileName.dropLast(".xml".count))
            let definition: Definition
            do {
                let bytes = try HostFiles.read(path, limit: RPCLimits.maxStringLength)
                definition = try Definition.parseStored(String(decoding: bytes, as: UTF8.self))
            } catch {
                problems.append("skipping \(path): \(error)")
                continue
            }
            guard definition.name == name else {
                problems.append("skipping \(path): it defines \(Definition.kind) '\(definition.name)', not '\(name)'")
                continue
            }
            if let other = seenUUIDs[definition.uuid] {
                problems.append("skipping \(path): uuid \(definition.uuid) is already used by '\(other)'")
                continue
            }
            seenUUIDs[definition.uuid] = name
            definitions.append(Stored(definition: definition, autostart: isAutostart(name)))
        }
        return (definitions, problems)
    }

    /// Writes (or replaces) a definition.
    func save(_ definition: Definition) throws(ManagementError) {
        do {
            try HostFiles.writeAtomically(definitionFile(definition.name), Array(definition.storedXML.utf8))
        } catch {
            throw .system(error)
        }
    }

    /// Removes a definition and its autostart link.
    func remove(name: String) throws(ManagementError) {
        do {
            try HostFiles.remove(autostartLink(name))
            try HostFiles.remove(definitionFile(name))
            try HostFiles.syncDirectory(autostartDirectory)
            try HostFiles.syncDirectory(directory)
        } catch {
            throw .system(error)
        }
    }

    func setAutostart(_ name: String, _ autostart: Bool) throws(ManagementError) {
        do {
            if autostart {
                try HostFiles.replaceSymlink(autostartLink(name), target: autostartTargetPrefix + name + ".xml")
            } else {
                try HostFiles.remove(autostartLink(name))
                try HostFiles.syncDirectory(autostartDirectory)
            }
        } catch {
            throw .system(error)
        }
    }

    func isAutostart(_ name: String) -> Bool {
        HostFiles.exists(autostartLink(name))
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
