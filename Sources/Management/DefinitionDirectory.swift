import LibvirtProtocol

/// A directory of `<name>.xml` definitions, the layout of persistent domains and storage pools.
enum DefinitionDirectory {
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
