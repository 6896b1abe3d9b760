import Management

#if canImport(Glibc)
    import Glibc
#endif

/// The client's socket calls: connect (Management's), read, write and poll on a UNIX stream socket.
/// The only place in ManagementClient that makes them; errno is read at once.
enum ClientSocket {
    static func connect(_ path: String) throws(ClientError) -> Int32 {
        do {
            return try UnixSocket.connect(path)
        } catch {
            throw .connect(path: path, errno: error.errno)
        }
    }

    /// Writes all of `bytes`, retrying after EINTR and short writes. On a socket (`toSocket`) a
    /// daemon that went away is an error, not SIGPIPE.
    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], toSocket: Bool) throws(ClientError) {
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { buffer in
                toSocket
                    ? send(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
                    : write(descriptor, buffer.baseAddress, buffer.count)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw .system(call: "write", errno: errno)
            }
            written += count
        }
    }

    /// Up to `limit` bytes; empty at end of input.
    static func read(_ descriptor: Int32, limit: Int = 65536) throws(ClientError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: limit)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count >= 0 { return Array(buffer.prefix(count)) }
            if errno != EINTR { throw .system(call: "read", errno: errno) }
        }
    }

    /// Which of `descriptors` can be read (or are at end of input / in error); waits up to
    /// `timeoutMilliseconds` (-1: without limit).
    static func readable(_ descriptors: [Int32], timeoutMilliseconds: Int32) throws(ClientError) -> [Int32] {
        var entries = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        while true {
            let count = poll(&entries, nfds_t(entries.count), timeoutMilliseconds)
            if count >= 0 { break }
            if errno != EINTR { throw .system(call: "poll", errno: errno) }
        }
        return entries.filter { $0.revents != 0 }.map(\.fd)
    }

    static func close(_ descriptor: Int32) {
        _ = Glibc.close(descriptor)
    }

}
