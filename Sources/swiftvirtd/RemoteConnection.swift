import LibvirtProtocol
import Logging
import NIOCore

/// Serves one client connection: packets are answered in order; a framing error is answered (when the
/// bad packet's header is known) and closes this connection only.
struct RemoteConnection {
    let channel: NIOAsyncChannel<RPCInbound, ByteBuffer>
    let dispatcher: RemoteDispatcher
    let readOnly: Bool
    let logger: Logger

    func serve() async {
        do {
            try await channel.executeThenClose { inbound, outbound in
                var session = RemoteSession(socketIsReadOnly: readOnly)
                for try await event in inbound {
                    switch event {
                    case .packet(let packet):
                        if let reply = await dispatcher.handle(packet, session: &session) {
                            try await outbound.write(Self.buffer(for: reply))
                        }
                    case .framingError(let error, let header):
                        logger.notice("closing connection", metadata: ["reason": "\(error)"])
                        if let header, header.type == .call || header.type == .callWithFDs {
                            let reply = RPCPacket.errorReply(
                                to: header, error: LibvirtError.rpc(error.description).remoteError)
                            try await outbound.write(Self.buffer(for: reply))
                        }
                        return
                    }
                }
            }
        } catch {
            logger.debug("connection ended", metadata: ["error": "\(error)"])
        }
    }

    private static func buffer(for packet: RPCPacket) throws -> ByteBuffer {
        do {
            return ByteBuffer(bytes: try packet.serialized())
        } catch {
            // A reply too large for the protocol: the client gets an error instead.
            let reply = RPCPacket.errorReply(
                to: packet.header, error: LibvirtError.rpc("Unable to encode message payload: \(error)").remoteError)
            return ByteBuffer(bytes: try reply.serialized())
        }
    }
}
