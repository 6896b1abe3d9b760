import DomainXML
import LibvirtProtocol

/// Persistent domains on disk: `<state>/domains/<name>.xml` holds each definition (written atomically,
/// so a crash leaves the old or the new file, never half of one) and `<state>/autostart/<name>` is a
/// symlink to it for domains that start with the host, as libvirt lays out /etc/libvirt/qemu.
struct DomainStore: Sendable {
    /// A definition read back at start-up.
    struct StoredDomain: Hashable, Sendable {
        var definition: DomainDefinition
        var autostart: Bool
    }

    let paths: ManagementPaths

    /// Creates the directories if needed.
    func prepare() throws(ManagementError) {
        do {
            try HostFiles.makeDirectories(paths.domainsDirectory)
            try HostFiles.makeDirectories(paths.autostartDirectory)
        } catch {
            throw .system(error)
        }
    }

    /// Every stored domain, and one sentence per file that was skipped (see `DefinitionDirectory`).
    func loadAll() -> (domains: [StoredDomain], problems: [String]) {
        let (definitions, problems) = DefinitionDirectory.load(
            paths.domainsDirectory, kind: "domain", parse: { try DomainDefinition.parse($0) },
            identity: { ($0.name, $0.uuid) })
        return (definitions.map { StoredDomain(definition: $0, autostart: isAutostart($0.name)) }, problems)
    }

    private var files: DefinitionDirectory {
        DefinitionDirectory(
            directory: paths.domainsDirectory, autostartDirectory: paths.autostartDirectory, linkPrefix: "../domains/")
    }

    /// Writes (or replaces) a domain's definition.
    func save(_ definition: DomainDefinition) throws(ManagementError) {
        try files.save(definition.name, xml: definition.xml())
    }

    /// Removes a domain's definition and autostart link.
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
