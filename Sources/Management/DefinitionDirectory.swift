import LibvirtProtocol

/// A directory of `<name>.xml` definitions with a directory of autostart links to them, the layout of
/// persistent domains and storage pools (libvirt's /etc/libvirt/qemu and /etc/libvirt/storage).
/// Files are written atomically, so a crash leaves the old or the new file, never half of one.
struct DefinitionDirectory: Sendable {
    let directory: String
    let autostartDirectory: String
    /// How a link in `autostartDirectory` reaches `directory` ("../domains/", "../").
    let linkPrefix: String

    func file(_ name: String) -> String { directory + "/" + name + ".xml" }
    func link(_ name: String) -> String { autostartDirectory + "/" + name }

    /// Writes (or replaces) a definition.
    func save(_ name: String, xml: String) throws(ManagementError) {
        do {
            try HostFiles.writeAtomically(file(name), Array(xml.utf8))
        } catch {
            throw .system(error)
        }
    }

    /// Removes a definition and its autostart link.
    func remove(_ name: String) throws(ManagementError) {
        do {
            try HostFiles.remove(link(name))
            try HostFiles.remove(file(name))
            try HostFiles.syncDirectory(autostartDirectory)
            try HostFiles.syncDirectory(directory)
        } catch {
            throw .system(error)
        }
    }

    func setAutostart(_ name: String, _ autostart: Bool) throws(ManagementError) {
        do {
            if autostart {
                try HostFiles.replaceSymlink(link(name), target: linkPrefix + name + ".xml")
            } else {
                try HostFiles.remove(link(name))
                try HostFiles.syncDirectory(autostartDirectory)
            }
        } catch {
            throw .system(error)
        }
    }

    func isAutostart(_ name: String) -> Bool {
        HostFiles.exists(link(name))
    }

    /// Every definition in `directory`, and one sentence per file that was skipped (unreadable or
    /// invalid XML, a name that does not match the file, a UUID already taken). Leftover temporary
    /// files from an interrupted write are removed; the file they were replacing is intact. `kind`
    /// ("domain", "storage pool") names what the files define in those sentences.
    static func load<Definition>(
        _ directory: String, kind: String, parse: (String) throws -> Definition,
        identity: (Definition) -> (name: String, uuid: DomainUUID)
    ) -> (definitions: [Definition], problems: [String]) {
        let names: [String]
        do {
            names = try HostFiles.list(directory)
        } catch {
            return ([], ["cannot list stored \(kind)s: \(error)"])
        }
        var definitions: [Definition] = []
        var problems: [String] = []
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
                definition = try parse(String(decoding: bytes, as: UTF8.self))
            } catch {
                problems.append("skipping \(path): \(error)")
                continue
            }
            let (definedName, uuid) = identity(definition)
            guard definedName == name else {
                problems.append("skipping \(path): it defines \(kind) '\(definedName)', not '\(name)'")
                continue
            }
            if let other = seenUUIDs[uuid] {
                problems.append("skipping \(path): uuid \(uuid) is already used by '\(other)'")
                continue
            }
            seenUUIDs[uuid] = name
            definitions.append(definition)
        }
        return (definitions, problems)
    }
}
