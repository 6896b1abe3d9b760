import LibvirtProtocol
import Management
import NIOCore
import NIOPosix
import Synchronization

/// Carries a console between a libvirt stream and the VMM's serial socket.
///
/// libvirt's stream rules (remote_protocol.x, virnetclientstream.c, remote_daemon_stream.c): after the
/// DOMAIN_OPEN_CONSOLE reply, data travels both ways in STREAM packets with the call's procedure and
/// serial and status CONTINUE, the payload raw bytes (not XDR), no acknowledgement. The client ends
/// with an empty STREAM packet of status OK (finish) or ERROR (abort), each confirmed by an empty OK.
/// The server signals end of data (the VMM closed the socket) with an empty OK, and failure with
/// status ERROR carrying a `virNetMessageError`.
final class ConsoleStreamBridge: Sendable {
    /// VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX: the largest data chunk libvirt's own daemon sends.
    static let maxChunk = 262_120
    /// Client bytes waiting for a guest that does not read its serial port are capped; beyond this,
    /// input is dropped (as a real serial line overruns) rather than held in the daemon's memory.
    static let maxPendingInput = 1 << 20

    let serial: UInt32
    let procedure: Int32
    let lease: ConsoleLease
    private let clientData: AsyncStream<[UInt8]>
    private let clientDataSink: AsyncStream<[UInt8]>.Continuation
    private let state = Mutex<State>(State())

    private struct State {
        var channel: (any Channel)?
        /// Bytes delivered and not yet written to the serial socket.
        var pendingInput = 0
        /// The client finished or aborted, or the lease was revoked: no end-of-data packet is owed.
        var ended = false
    }

    init(call: RPCHeader, lease: ConsoleLease) {
        serial = call.serial
        procedure = call.procedure
        self.lease = lease
        // Bounded by bytes in `deliver`, not by element count.
        (clientData, clientDataSink) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Bytes the client sent (STREAM, CONTINUE) for the guest.
    func deliver(_ bytes: [UInt8]) {
        let accepted = state.withLock { state -> Bool in
            guard state.pendingInput + bytes.count <= Self.maxPendingInput else { return false }
            state.pendingInput += bytes.count
            return true
        }
        if accepted { clientDataSink.yield(bytes) }
    }

    /// The client finished or aborted the stream, or its connection ended.
    func end() {
        let channel = state.withLock { state -> (any Channel)? in
            state.ended = true
            return state.channel
        }
        clientDataSink.finish()
        channel?.close(promise: nil)
    }

    /// Bridges until both directions are done. `descriptor` is the connected serial socket; this
    /// takes it over.
    func run(
        descriptor: Int32, group: any EventLoopGroup, client: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) async {
        let serialChannel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            serialChannel = try await ClientBootstrap(group: group).withConnectedSocket(descriptor) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        } catch {
            await sendError(LibvirtError.operationFailed("cannot open the console: \(error)"), to: client)
            return
        }
        let alreadyEnded = state.withLock { state -> Bool in
            state.channel = serialChannel.channel
            return state.ended
        }
        if alreadyEnded { serialChannel.channel.close(promise: nil) }

        try? await serialChannel.executeThenClose { inbound, outbound in
            await withTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    // Client → guest. Bytes for a serial socket that is already gone are dropped.
                    for await bytes in self.clientData {
                        try? await outbound.write(ByteBuffer(bytes: bytes))
                        self.state.withLock { $0.pendingInput -= bytes.count }
                    }
                    serialChannel.channel.close(promise: nil)
                }
                tasks.addTask {
                    // Guest → client, then end of data unless the client ended first.
                    do {
                        for try await buffer in inbound {
                            try await self.send(Array(buffer.readableBytesView), to: client)
                        }
                    } catch {}
                    if !self.state.withLock({ $0.ended }) {
                        try? await client.write(self.packet(status: .ok))
                    }
                }
            }
        }
    }

    /// The lease was taken over by a forced console: this client gets an error and its stream ends.
    func revoke(client: NIOAsyncChannelOutboundWriter<ByteBuffer>) async {
        let wasEnded = state.withLock { state -> Bool in
            defer { state.ended = true }
            return state.ended
        }
        end()
        if !wasEnded {
            await sendError(LibvirtError.operationFailed("the console was taken over by another client"), to: client)
        }
    }

    private func send(_ bytes: [UInt8], to client: NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws {
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + Self.maxChunk, bytes.count)
            try await client.write(packet(status: .continue, payload: Array(bytes[offset..<end])))
            offset = end
        }
    }

    private func sendError(_ error: LibvirtError, to client: NIOAsyncChannelOutboundWriter<ByteBuffer>) async {
        let payload = (try? XDREncoder.encode(error.remoteError)) ?? []
        try? await client.write(packet(status: .error, payload: payload))
    }

    /// A STREAM packet of this stream.
    func packet(status: RPCMessageStatus, payload: [UInt8] = []) -> ByteBuffer {
        let header = RPCHeader(
            program: RPCProgram.remote, version: RPCProgram.remoteVersion, procedure: procedure, type: .stream,
            serial: serial, status: status)
        // A chunk is far below the packet limit, so serializing cannot fail; stay total anyway.
        return ByteBuffer(bytes: (try? RPCPacket(header: header, payload: payload).serialized()) ?? [])
    }
}
