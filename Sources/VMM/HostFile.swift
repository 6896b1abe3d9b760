import X86Boot

#if canImport(Glibc)
    import Glibc
#endif

/// Opens a boot file (kernel, initrd) for the loader to read from, with errors that say which file and
/// what to do. Only the size is checked here; the loader reads headers and preads payloads straight into
/// guest RAM, so the file is never held whole in the VMM's memory.
enum HostFile {
    static func open(_ path: String, limit: Int, what: String) throws -> BootFile {
        let file: BootFile
        do {
            file = try BootFile(path: path)
        } catch {
            let reason: String
            switch error {
            case .notFound: reason = "\(what) not found"
            case .notRegularFile: reason = "the \(what) must be a regular file"
            case .openFailed(_, let code): reason = String(cString: strerror(code))
            default: reason = error.description
            }
            throw VMMError.fileUnreadable(path: path, reason: reason)
        }
        guard file.size > 0 else { throw VMMError.fileUnreadable(path: path, reason: "the \(what) file is empty") }
        guard file.size <= UInt64(limit) else {
            throw VMMError.fileUnreadable(
                path: path, reason: "the \(what) is \(file.size >> 20) MiB; the limit is \(limit >> 20) MiB")
        }
        return file
    }
}
