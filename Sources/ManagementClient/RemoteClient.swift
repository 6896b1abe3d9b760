import LibvirtProtocol

/// A blocking client of libvirt's remote protocol over the daemon's UNIX socket: one call at a time,
/// each answered before the next, as a command-line tool needs. Events and keepalives the daemon sends
/// meanwhile are skipped.
public final class RemoteClient {
    let descriptor: Int32
    private var reader = PacketReader()
    private var nextSerial: UInt32 = 1

    /// Connects to `socketPath` and opens `uri` (CONNECT_OPEN), as virsh does first.
    public init(socketPath: String, uri: String = "qemu:///system") throws(ClientError) {
        descriptor = try ClientSocket.connect(socketPath)
        do {
            try call(.connectOpen, ConnectOpenArgs(name: uri, flags: 0))
        } catch {
            ClientSocket.close(descriptor)
            throw error
        }
    }

    deinit {
        ClientSocket.close(descriptor)
    }

    /// Says goodbye (CONNECT_CLOSE); the socket closes with this object.
    public func close() {
        _ = try? call(.connectClose)
    }

    /// Calls `procedure` and decodes its reply as `Reply`; a libvirt error reply throws `.remote`.
    @discardableResult
    public func call<Reply: XDRDecodable>(
        _ procedure: RemoteProcedure, _ arguments: some XDREncodable = XDRVoid(), returning: Reply.Type = XDRVoid.self
    ) throws(ClientError) -> Reply {
        let serial = try send(procedure, arguments)
        let reply = try waitForReply(serial: serial)
        do {
            return try reply.decodePayload(as: Reply.self)
        } catch {
            throw .malformed("\(procedure): \(error)")
        }
    }

    /// Sends a CALL and returns its serial.
    func send(_ procedure: RemoteProcedure, _ arguments: some XDREncodable) throws(ClientError) -> UInt32 {
        let serial = nextSerial
        nextSerial &+= 1
        let header = RPCHeader(
            program: RPCProgram.remote, version: RPCProgram.remoteVersion, procedure: procedure.rawValue,
            type: .call, serial: serial, status: .ok)
        let packet: RPCPacket
        do {
            packet = try RPCPacket(header: header, body: arguments)
        } catch {
            throw .malformed("cannot encode \(procedure): \(error)")
        }
        try send(packet)
        return serial
    }

    func send(_ packet: RPCPacket) throws(ClientError) {
        let bytes: [UInt8]
        do {
            bytes = try packet.serialized()
        } catch {
            throw .malformed("cannot encode a packet: \(error)")
        }
        try ClientSocket.writeAll(descriptor, bytes, toSocket: true)
    }

    /// The next packet from the daemon, reading as needed.
    func receive() throws(ClientError) -> RPCPacket {
        while true {
            if let packet = try reader.next() { return packet }
            try fill()
        }
    }

    /// A packet already buffered, without reading.
    func bufferedPacket() throws(ClientError) -> RPCPacket? {
        try reader.next()
    }

    /// Reads what the socket has (blocking until something arrives).
    func fill() throws(ClientError) {
        let bytes = try ClientSocket.read(descriptor)
        guard !bytes.isEmpty else { throw .closed }
        reader.append(bytes)
    }

    func waitForReply(serial: UInt32) throws(ClientError) -> RPCPacket {
        while true {
            let packet = try receive()
            guard packet.header.type == .reply, packet.header.serial == serial else { continue }
            guard packet.header.status == .ok else { throw Self.error(in: packet) }
            return packet
        }
    }

    /// The libvirt error an ERROR packet (a reply or a stream's end) carries.
    static func error(in packet: RPCPacket) -> ClientError {
        do {
            return .remote(try packet.decodePayload(as: RemoteError.self))
        } catch {
            return .malformed("error reply: \(error)")
        }
    }
}
