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

    /// Every stored domain, and one sentence per file that was skipped (unreadable or invalid XML, a
    /// name that does not match the file, a UUID already taken). Leftover temporary files from an
    /// interrupted write are removed; the file they were replacing is intact.
    func loadAll() -> (domains: [StoredDomain], problems: [String]) {
        var domains: [StoredDomain] = []
        var problems: [String] = []
        let names: [String]
        do {
            names = try HostFiles.list(paths.domainsDirectory)
        } catch {
            return ([], ["cannot list stored domains: \(error)"])
        }
        var seenUUIDs: [DomainUUID: String] = [:]
        for fileName in names.sorted() {
            let path = paths.domainsDirectory + "/" + fileName
            if HostFiles.isTemporaryName(fileName) {
                try? HostFiles.remove(path)
                continue
            }
            guard fileName.hasSuffix(".xml"), !fileName.hasPrefix(".") else { continue }
            let name = String(fileName.dropLast(".xml".count))
            let definition: DomainDefinition
            do {
                let bytes = try HostFiles.read(path, limit: RPCLimits.maxStringLength)
                definition = try DomainDefinition.parse(String(decoding: bytes, as: UTF8.self))
            } catch {
                problems.append("skipping \(path): \(error)")
                continue
            }
            guard definition.name == name else {
                problems.append("skipping \(path): it defines domain '\(definition.name)', not '\(name)'")
                continue
            }
            if let other = seenUUIDs[definition.uuid] {
                problems.append("skipping \(path): uuid \(definition.uuid) is already used by '\(other)'")
                continue
            }
            seenUUIDs[definition.uuid] = name
            domains.append(StoredDomain(definition: definition, autostart: isAutostart(name)))
        }
        return (domains, problems)
    }

    /// Writes (or replaces) a domain's definition.
    func save(_ definition: DomainDefinition) throws(ManagementError) {
        do {
            try HostFiles.writeAtomically(paths.definitionFile(definition.name), Array(definition.xml().utf8))
        } catch {
            throw .system(error)
        }
    }

    /// Removes a domain's definition and autostart link.
    func remove(name: String) throws(ManagementError) {
        do {
            try HostFiles.remove(paths.autostartLink(name))
            try HostFiles.remove(paths.definitionFile(name))
            try HostFiles.syncDirectory(paths.autostartDirectory)
            try HostFiles.syncDirectory(paths.domainsDirectory)
        } catch {
            throw .system(error)
        }
    }

    func setAutostart(_ name: String, _ autostart: Bool) throws(ManagementError) {
        do {
            if autostart {
                try HostFiles.replaceSymlink(paths.autostartLink(name), target: "../domains/\(name).xml")
            } else {
                try HostFiles.remove(paths.autostartLink(name))
                try HostFiles.syncDirectory(paths.autostartDirectory)
            }
        } catch {
            throw .system(error)
        }
    }

    func isAutostart(_ name: String) -> Bool {
        HostFiles.exists(paths.autostartLink(name))
    }
}
