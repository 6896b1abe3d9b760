#if canImport(Glibc)
    import Glibc
#endif

/// The socket calls of the management layer: connecting to a VMM's control and serial sockets (and,
/// for ManagementClient, to the daemon's) and the blocking, time-limited line exchange of the control
/// protocol.
public enum UnixSocket {
    /// sun_path is 108 bytes including the terminator (unix(7)).
    public static let maxPathLength = 107

    /// A connected stream socket (close-on-exec, blocking).
    public static func connect(_ path: String) throws(SystemCallError) -> Int32 {
        guard path.utf8.count <= maxPathLength else { throw SystemCallError("connect", path, errno: ENAMETOOLONG) }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SystemCallError("socket", path, errno: errno) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in pathBytes.enumerated() where index < buffer.count - 1 { buffer[index] = byte }
        }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let error = SystemCallError("connect", path, errno: errno)
            close(descriptor)
            throw error
        }
        return descriptor
    }

    /// Sends one command line and returns the one reply line, without its newline. Each direction
    /// gives up after `timeoutMilliseconds`; a reply longer than `maxReplyLength` is an error.
    static func exchangeLine(
        path: String, command: String, timeoutMilliseconds: Int, maxReplyLength: Int = 256
    ) throws(SystemCallError) -> String {
        let descriptor = try connect(path)
        defer { close(descriptor) }
        var timeout = timeval(
            tv_sec: timeoutMilliseconds / 1000, tv_usec: __suseconds_t((timeoutMilliseconds % 1000) * 1000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        let line = Array((command + "\n").utf8)
        var sent = 0
        while sent < line.count {
            let count = line[sent...].withUnsafeBytes {
                send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemCallError("send", path, errno: errno)
            }
            sent += count
        }

        var reply: [UInt8] = []
        var byte: UInt8 = 0
        while reply.count <= maxReplyLength {
            let count = recv(descriptor, &byte, 1, 0)
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemCallError("recv", path, errno: errno == EAGAIN ? ETIMEDOUT : errno)
            }
            if count == 0 { throw SystemCallError("recv", path, errno: ECONNRESET) }
            if byte == UInt8(ascii: "\n") { return String(decoding: reply, as: UTF8.self) }
            reply.append(byte)
        }
        throw SystemCallError("recv", path, errno: EMSGSIZE)
    }
}
