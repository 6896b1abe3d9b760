import LibvirtProtocol
import Logging
import Management
import NIOCore

/// Serves one client connection: calls are answered in order; STREAM packets go to the console stream
/// they belong to, whose guest output is sent from a task of its own; domain events the client
/// registered for are sent from another; a framing error is answered (when the bad packet's header is
/// known) and closes this connection only. Its event callbacks end with it.
struct RemoteConnection {
    let channel: NIOAsyncChannel<RPCInbound, ByteBuffer>
    let dispatcher: RemoteDispatcher
    let events: DomainEventHub
    let readOnly: Bool
    let logger: Logger
    let group: any EventLoopGroup

    func serve() async {
        do {
            try await channel.executeThenClose { inbound, outbound in
                try await withThrowingDiscardingTaskGroup { streamTasks in
                    let callbacks = EventCallbacks()
                    let subscription = events.subscribe()
                    defer { events.unsubscribe(subscription) }
                    streamTasks.addTask {
                        for await event in subscription.events {
                            for packet in callbacks.packets(for: event) {
                                try await outbound.write(Self.buffer(for: packet))
                            }
                        }
                    }
                    var session = RemoteSession(socketIsReadOnly: readOnly, eventCallbacks: callbacks)
                    // Open console streams by the serial of the call that opened them.
                    var streams: [UInt32: ConsoleStreamBridge] = [:]
                    defer {
                        for stream in streams.values { stream.end() }
                        streamTasks.cancelAll()
                    }
                    for try await event in inbound {
                        switch event {
                        case .packet(let packet) where packet.header.type == .stream:
                            try await handleStreamPacket(packet, streams: &streams, outbound: outbound)
                        case .packet(let packet):
                            if let reply = await dispatcher.handle(packet, session: &session) {
                                try await outbound.write(Self.buffer(for: reply))
                            }
                            if let console = session.takePendingConsole() {
                                let stream = startStream(
                                    console, call: packet.header, outbound: outbound, in: &streamTasks)
                                streams[packet.header.serial] = stream
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
            }
        } catch {
            logger.debug("connection ended", metadata: ["error": "\(error)"])
        }
    }

    /// Starts bridging a console the dispatcher opened; its reply has been sent.
    private func startStream(
        _ console: OpenedConsole, call: RPCHeader, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        in tasks: inout ThrowingDiscardingTaskGroup<any Error>
    ) -> ConsoleStreamBridge {
        let stream = ConsoleStreamBridge(call: call, lease: console.lease)
        console.lease.onRevoke { Task { await stream.revoke(client: outbound) } }
        let descriptor = console.connection.takeDescriptor()
        let group = group
        let consoles = dispatcher.consoles
        tasks.addTask {
            if let descriptor {
                await stream.run(descriptor: descriptor, group: group, client: outbound)
            }
            await consoles.release(console.lease)
        }
        return stream
    }

    /// A STREAM packet from the client: data for the guest (CONTINUE), or the end of the stream (OK
    /// to finish, ERROR to abort), which is confirmed with an empty OK. Packets for streams this
    /// connection does not have are dropped, as libvirtd does: stream data is not acknowledged, so
    /// some may still arrive after a stream ended.
    private func handleStreamPacket(
        _ packet: RPCPacket, streams: inout [UInt32: ConsoleStreamBridge],
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) async throws {
        let header = packet.header
        guard header.program == RPCProgram.remote, let stream = streams[header.serial],
            header.procedure == stream.procedure
        else {
            logger.debug(
                "dropping stream packet for no open stream",
                metadata: ["serial": "\(header.serial)", "status": "\(header.status)"])
            return
        }
        if header.status == .continue {
            stream.deliver(packet.payload)
            return
        }
        streams[header.serial] = nil
        stream.end()
        try await outbound.write(stream.packet(status: .ok))
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
