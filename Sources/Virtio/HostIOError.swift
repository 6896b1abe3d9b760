/// Why a device could not set up its host side (sockets, its thread, its wakeup eventfd).
public enum HostIOError: Error, Equatable, CustomStringConvertible {
    /// A system call failed.
    case systemCall(name: String, errno: Int32)
    /// A socket call on `path` failed.
    case socket(name: String, path: String, errno: Int32)
    /// `path` is empty, contains NUL or is longer than sockaddr_un allows.
    case invalidSocketPath(path: String, limit: Int)
    /// Something already listens at `path`, or a stale socket file is left there.
    case socketPathInUse(path: String)
    /// pthread_create failed.
    case threadCreation(errno: Int32)

    public var description: String {
        switch self {
        case .systemCall(let name, let errno):
            return "\(name) failed (errno \(errno))"
        case .socket(let name, let path, let errno):
            return "\(name) on Unix socket \(path) failed (errno \(errno))"
        case .invalidSocketPath(let path, let limit):
            return "Unix socket path '\(path)' must be 1 to \(limit) bytes without NUL: choose a shorter path"
        case .socketPathInUse(let path):
            return "Unix socket path \(path) is in use: remove the stale file or choose another path"
        case .threadCreation(let errno):
            return "cannot create the device thread (errno \(errno))"
        }
    }
}
