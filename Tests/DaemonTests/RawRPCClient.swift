import Foundation
import LibvirtProtocol

/// A blocking UNIX-socket client that speaks raw libvirt packets, or raw garbage. Call it only inside
/// `blocking { }`. Reads time out after a minute so a silent server fails the test, not hangs it; shorter
/// was a timing assertion in disguise: on 2 busy cores (the KVM probes spin both for minutes) the daemon's
/// answer took more than 5 s once in CI.
struct RawRPCClient: Sendable {
    let descriptor: Int32

    init(path: String) throws {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
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
        guard result == 0 else {
            _ = Foundation.close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
        self.descriptor = descriptor
    }

    func close() {
        _ = Foundation.close(descriptor)
    }

    /// No more writes: the server sees end of input.
    func shutdownWrites() {
        shutdown(descriptor, Int32(SHUT_WR))
    }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { throw POSIXError(.EPIPE) }
            sent += count
        }
    }

    /// The next packet, or nil when the server closed the connection.
    func receive() throws -> RPCPacket? {
        guard let lengthBytes = try read(count: 4) else { return nil }
        let length =
            Int(lengthBytes[0]) << 24 | Int(lengthBytes[1]) << 16 | Int(lengthBytes[2]) << 8 | Int(lengthBytes[3])
        guard length >= RPCLimits.minPacketLength, length <= RPCLimits.maxPacketLength,
            let body = try read(count: length - 4)
        else { throw POSIXError(.EPROTO) }
        return try RPCPacket(body: body)
    }

    private func read(count: Int) throws -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var received = 0
        while received < count {
            let result = bytes[received...].withUnsafeMutableBytes {
                Foundation.read(descriptor, $0.baseAddress, $0.count)
            }
            if result == 0 { return nil }
            guard result > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            received += result
        }
        return bytes
    }

    static func callHeader(_ procedure: Int32, serial: UInt32, program: UInt32 = RPCProgram.remote) -> RPCHeader {
        RPCHeader(program: program, version: 1, procedure: procedure, type: .call, serial: serial, status: .ok)
    }

    /// Sends a CALL and returns the reply.
    func call(
        _ procedure: RemoteProcedure, serial: UInt32, payload: [UInt8] = [], program: UInt32 = RPCProgram.remote
    ) throws -> RPCPacket? {
        try send(
            RPCPacket(header: Self.callHeader(procedure.rawValue, serial: serial, program: program), payload: payload)
                .serialized())
        return try receive()
    }

    /// CONNECT_OPEN for qemu:///system.
    func open() throws -> RPCPacket? {
        try call(.connectOpen, serial: 1, payload: XDREncoder.encode(ConnectOpenArgs(name: "qemu:///system", flags: 0)))
    }
}

extension RPCPacket {
    /// The libvirt error in an ERROR reply.
    var remoteError: RemoteError? {
        header.status == .error ? try? decodePayload(as: RemoteError.self) : nil
    }
}
