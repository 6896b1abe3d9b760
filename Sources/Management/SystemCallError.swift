#if canImport(Glibc)
    import Glibc
#endif

/// A failed system call: its name, what it was applied to (a path, a pid) and errno, read at once.
public struct SystemCallError: Error, Hashable, Sendable, CustomStringConvertible {
    public var call: String
    public var subject: String
    public var errno: Int32

    public init(_ call: String, _ subject: String, errno: Int32) {
        self.call = call
        self.subject = subject
        self.errno = errno
    }

    /// strerror's text for `errno`.
    public var reason: String { String(cString: strerror(errno)) }

    public var description: String { "\(call)(\(subject)) failed: \(reason)" }
}
