import LibvirtProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// How a console session ended.
public enum ConsoleEnd: Equatable, Sendable {
    /// The user typed the escape character.
    case escaped
    /// The input reached its end (a script piping into the console).
    case inputEnded
    /// The daemon ended the stream: the VMM closed its console (it stopped).
    case consoleClosed
}

/// `virsh console`'s escape: Ctrl-] (GS).
public let consoleEscapeByte: UInt8 = 0x1d

extension RemoteClient {
    /// How long a finished stream waits for the daemon's confirmation before giving up on it.
    static let streamFinishTimeoutMilliseconds: Int32 = 5000

    /// Opens `domain`'s serial console (DOMAIN_OPEN_CONSOLE) and carries bytes between it and
    /// `input`/`output` until the escape byte, the end of input, or the end of the stream.
    ///
    /// libvirt's stream rules (remote_protocol.x, virnetclientstream.c): data travels both ways as
    /// STREAM packets with the open call's procedure and serial, status CONTINUE and raw bytes. The
    /// client finishes with an empty STREAM packet of status OK, which the daemon confirms with another;
    /// the daemon ends with an empty OK (end of data) or ERROR (with a libvirt error).
    public func runConsole(
        _ domain: RemoteDomain, input: Int32, output: Int32, escape: UInt8 = consoleEscapeByte
    ) throws(ClientError) -> ConsoleEnd {
        let serial = try send(.domainOpenConsole, DomainOpenConsoleArgs(domain: domain, deviceName: nil, flags: 0))
        _ = try waitForReply(serial: serial)
        let stream = ConsoleStream(serial: serial)
        while true {
            while let packet = try bufferedPacket() {
                if let end = try stream.handle(packet, output: output) { return end }
            }
            let ready = try ClientSocket.readable([input, descriptor], timeoutMilliseconds: -1)
            if ready.contains(descriptor) {
                try fill()
                continue
            }
            guard ready.contains(input) else { continue }
            let bytes = try ClientSocket.read(input)
            guard !bytes.isEmpty else {
                try finish(stream)
                return .inputEnded
            }
            if let index = bytes.firstIndex(of: escape) {
                if index > 0 { try send(stream.data(Array(bytes[..<index]))) }
                try finish(stream)
                return .escaped
            }
            try send(stream.data(bytes))
        }
    }

    /// Finishes the stream and waits (bounded) for the daemon to confirm; output still in flight is
    /// dropped.
    private func finish(_ stream: ConsoleStream) throws(ClientError) {
        try send(stream.packet(status: .ok))
        let deadline = Self.monotonicMilliseconds() + Int64(Self.streamFinishTimeoutMilliseconds)
        while true {
            while let packet = try bufferedPacket() {
                if stream.owns(packet), packet.header.status != .continue { return }
            }
            let left = deadline - Self.monotonicMilliseconds()
            guard left > 0, try ClientSocket.readable([descriptor], timeoutMilliseconds: Int32(left)).count > 0
            else { return }
            do {
                try fill()
            } catch .closed {
                return
            }
        }
    }

    private static func monotonicMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}

/// One console stream's packets.
private struct ConsoleStream {
    let serial: UInt32

    func owns(_ packet: RPCPacket) -> Bool {
        packet.header.type == .stream && packet.header.serial == serial
            && packet.header.procedure == RemoteProcedure.domainOpenConsole.rawValue
    }

    /// Writes guest output; returns how the session ended if the daemon ended it.
    func handle(_ packet: RPCPacket, output: Int32) throws(ClientError) -> ConsoleEnd? {
        guard owns(packet) else { return nil }
        switch packet.header.status {
        case .continue:
            try ClientSocket.writeAll(output, packet.payload, toSocket: false)
            return nil
        case .ok:
            return .consoleClosed
        default:
            throw RemoteClient.error(in: packet)
        }
    }

    func data(_ bytes: [UInt8]) -> RPCPacket {
        packet(status: .continue, payload: bytes)
    }

    func packet(status: RPCMessageStatus, payload: [UInt8] = []) -> RPCPacket {
        RPCPacket(
            header: RPCHeader(
                program: RPCProgram.remote, version: RPCProgram.remoteVersion,
                procedure: RemoteProcedure.domainOpenConsole.rawValue, type: .stream, serial: serial, status: status),
            payload: payload)
    }
}
