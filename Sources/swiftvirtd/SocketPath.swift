#if canImport(Glibc)
    import Glibc
#endif

/// Why a listening socket path cannot be used.
enum SocketPathError: Error, CustomStringConvertible {
    case tooLong(String)
    case notASocket(String)
    case inUse(String)
    case system(call: String, path: String, errno: Int32)

    var description: String {
        switch self {
        case .tooLong(let path):
            return "socket path \(path) is longer than a UNIX socket address allows (107 bytes)"
        case .notASocket(let path):
            return "\(path) exists and is not a socket; remove it or choose another --socket path"
        case .inUse(let path):
            return "another daemon is already listening on \(path); stop it first"
        case .system(let call, let path, let errno):
            return "\(call)(\(path)) failed: \(String(cString: strerror(errno)))"
        }
    }
}

/// The file-system side of a listening UNIX socket: the only place swiftvirtd makes these syscalls.
enum SocketPath {
    /// sun_path is 108 bytes including the terminator.
    static let maxLength = 107

    /// Makes `path` ready to bind: creates its directory, refuses a path in use by a live daemon or
    /// held by a non-socket file, and removes a stale socket left by a daemon that died.
    static func prepare(_ path: String) throws(SocketPathError) {
        guard path.utf8.count <= maxLength else { throw .tooLong(path) }
        try makeParentDirectory(of: path)
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw .system(call: "lstat", path: path, errno: errno)
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else { throw .notASocket(path) }
        if acceptsConnections(path) { throw .inUse(path) }
        guard unlink(path) == 0 || errno == ENOENT else { throw .system(call: "unlink", path: path, errno: errno) }
    }

    /// Sets the socket file's permission bits (who may connect).
    static func setMode(_ path: String, _ mode: mode_t) throws(SocketPathError) {
        guard chmod(path, mode) == 0 else { throw .system(call: "chmod", path: path, errno: errno) }
    }

    static func remove(_ path: String) {
        unlink(path)
    }

    private static func makeParentDirectory(of path: String) throws(SocketPathError) {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        let directory = String(path[..<slash])
        var partial = ""
        for component in directory.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, 0o755) != 0, errno != EEXIST {
                throw .system(call: "mkdir", path: partial, errno: errno)
            }
        }
    }

    /// Whether something accepts connections on `path` right now.
    private static func acceptsConnections(_ path: String) -> Bool {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in pathBytes.enumerated() where index < buffer.count - 1 { buffer[index] = byte }
        }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }
}
