import LibvirtProtocol
import Logging
import Management
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// One UNIX socket the daemon listens on.
struct RemoteListener: Sendable {
    var path: String
    /// Connections on this socket may only call procedures that change nothing (libvirt-sock-ro).
    var readOnly: Bool
    /// Who may connect: 0700 for the read-write socket (root only, so AUTH_NONE is safe), 0777 for
    /// the read-only one (libvirtd's defaults).
    var mode: mode_t

    static func readWrite(_ path: String) -> RemoteListener {
        RemoteListener(path: path, readOnly: false, mode: 0o700)
    }

    static func readOnly(_ path: String) -> RemoteListener {
        RemoteListener(path: path, readOnly: true, mode: 0o777)
    }
}

/// The libvirt remote-protocol server: binds every listener, then serves each connection in its own
/// task until cancelled. Socket files are removed on the way out.
struct RemoteServer: Sendable {
    let listeners: [RemoteListener]
    let dispatcher: RemoteDispatcher
    /// The backend's domain events, relayed to connections that registered for them.
    let events: DomainEventHub
    let logger: Logger
    let group: any EventLoopGroup

    init(
        listeners: [RemoteListener], backend: any DomainBackend, events: DomainEventHub = DomainEventHub(),
        host: HostDescription = .current(), logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.listeners = listeners
        self.dispatcher = RemoteDispatcher(backend: backend, host: host, logger: logger)
        self.events = events
        self.logger = logger
        self.group = group
    }

    /// Serves until the task is cancelled. `onListening` runs once every socket accepts connections.
    func run(onListening: @Sendable () -> Void = {}) async throws {
        var bound: [(RemoteListener, NIOAsyncChannel<NIOAsyncChannel<RPCInbound, ByteBuffer>, Never>)] = []
        // Only sockets this server created are removed: a path held by another daemon stays.
        var createdPaths: [String] = []
        defer { for path in createdPaths { SocketPath.remove(path) } }
        do {
            for listener in listeners {
                try SocketPath.prepare(listener.path)
                let channel = try await bind(listener)
                createdPaths.append(listener.path)
                bound.append((listener, channel))
                try SocketPath.setMode(listener.path, listener.mode)
                logger.info("listening", metadata: ["socket": "\(listener.path)", "readOnly": "\(listener.readOnly)"])
            }
        } catch {
            // Starting is all or nothing: sockets bound before the failure are closed again.
            for (_, channel) in bound { try? await channel.channel.close() }
            throw error
        }
        onListening()
        try await withThrowingDiscardingTaskGroup { group in
            for (listener, channel) in bound {
                group.addTask { try await accept(on: channel, listener: listener) }
            }
        }
    }

    private func bind(
        _ listener: RemoteListener
    ) async throws -> NIOAsyncChannel<NIOAsyncChannel<RPCInbound, ByteBuffer>, Never> {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 128)
            .bind(unixDomainSocketPath: listener.path, cleanupExistingSocketFile: false) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(
                            RPCFrameDecoder(), maximumBufferSize: RPCFrameDecoder.maximumBufferSize))
                    return try NIOAsyncChannel<RPCInbound, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    private func accept(
        on channel: NIOAsyncChannel<NIOAsyncChannel<RPCInbound, ByteBuffer>, Never>, listener: RemoteListener
    ) async throws {
        try await withThrowingDiscardingTaskGroup { connections in
            try await channel.executeThenClose { inbound in
                for try await connection in inbound {
                    connections.addTask {
                        await RemoteConnection(
                            channel: connection, dispatcher: dispatcher, events: events, readOnly: listener.readOnly,
                            logger: logger, group: group
                        ).serve()
                    }
                }
            }
        }
    }
}
