/// Paths of storage pools and volumes. Names and paths come from clients and are hostile: a volume is
/// always `<pool directory>/<name>` with a name that is one plain path component, so no request
/// reaches outside its pool's directory.
enum StoragePath {
    /// NAME_MAX.
    static let maxNameLength = 255

    /// `path` with repeated slashes, "." components and a trailing slash removed, as libvirt cleans
    /// pool and volume paths before comparing them. ".." is kept: it never matches a pool directory.
    static func clean(_ path: String) -> String {
        let components = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        let joined = components.joined(separator: "/")
        return path.hasPrefix("/") ? "/" + joined : joined
    }

    /// Why `name` cannot be a volume name, or nil if it can.
    static func problem(withVolumeName name: String) -> String? {
        if name.isEmpty { return "it is empty" }
        if name == "." || name == ".." { return "'\(name)' is not a file name" }
        if name.contains("/") { return "it contains '/'" }
        if name.utf8.count > maxNameLength { return "it is longer than \(maxNameLength) bytes" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            return "it contains control characters"
        }
        return nil
    }

    /// The pool directory and volume name `path` names, if it is `<directory>/<valid name>`.
    static func split(volumePath path: String) -> (directory: String, name: String)? {
        let cleaned = clean(path)
        guard cleaned.hasPrefix("/"), let slash = cleaned.lastIndex(of: "/") else { return nil }
        let name = String(cleaned[cleaned.index(after: slash)...])
        guard problem(withVolumeName: name) == nil else { return nil }
        let directory = slash == cleaned.startIndex ? "/" : String(cleaned[..<slash])
        return (directory, name)
    }

    static func volume(_ name: String, in directory: String) -> String {
        directory == "/" ? "/" + name : directory + "/" + name
    }
}
