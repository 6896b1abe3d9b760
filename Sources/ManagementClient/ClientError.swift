import LibvirtProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// Why a call to the daemon failed. `description` is what the CLI prints after "error: ".
public enum ClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The daemon's socket could not be reached.
    case connect(path: String, errno: Int32)
    /// A read, write or poll on the connection failed.
    case system(call: String, errno: Int32)
    /// The daemon closed the connection.
    case closed
    /// The daemon sent something this client cannot read.
    case malformed(String)
    /// The daemon answered with a libvirt error.
    case remote(RemoteError)

    public var description: String {
        switch self {
        case .connect(let path, let errno):
            // libvirt's remote driver words it so.
            return "Failed to connect socket to '\(path)': \(String(cString: strerror(errno)))"
                + (errno == ENOENT || errno == ECONNREFUSED ? " (is swiftvirtd running? --connect PATH)" : "")
        case .system(let call, let errno):
            return "\(call) failed: \(String(cString: strerror(errno)))"
        case .closed:
            return "End of file while reading data: the daemon closed the connection"
        case .malformed(let detail):
            return "cannot read the daemon's reply: \(detail)"
        case .remote(let error):
            return error.message ?? "unknown error (code \(error.code.rawValue))"
        }
    }
}
