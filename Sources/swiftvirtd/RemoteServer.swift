import LibvirtProtocol
import Logging
import Management
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// One socket the daemon listens on: a UNIX socket (libvirtd's libvirt-sock and libvirt-sock-ro) or a
/// TCP port (libvirtd's 16509, `qemu+tcp://`).
struct RemoteListener: Sendable, CustomStringConvertible {
    enum Address: Hashable, Sendable {
        /// A socket file with this mode: 0700 for the read-write socket (root only, so AUTH_NONE is
        /// safe), 0777 for the read-only one (libvirtd's defaults).
        case unix(path: String, mode: mode_t)
        case tcp(TCPListenAddress)
    }

    var address: Address
    /// Connections on this socket may only call procedures that change nothing (libvirt-sock-ro).
    var readOnly: Bool

    static func readWrite(_ path: String) -> RemoteListener {
        RemoteListener(address: .unix(path: path, mode: 0o700), readOnly: false)
    }

    static func readOnly(_ path: String) -> RemoteListener {
        RemoteListener(address: .unix(path: path, mode: 0o777), readOnly: true)
    }

    static func tcp(_ address: TCPListenAddress, readOnly: Bool) -> RemoteListener {
        RemoteListener(address: .tcp(address), readOnly: readOnly)
    }

    var description: String {
        switch address {
        case .unix(let path, _): return path
        case .tcp(let address): return "tcp \(address)"
        }
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
        listeners: [RemoteListener], backend: any DomainBackend, storage: StoragePools,
        networks: ManagedNetworks? = nil, events: DomainEventHub = DomainEventHub(),
        host: HostDescription, logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.listeners = listeners
        self.dispatcher = RemoteDispatcher(
            backend: backend, storage: storage, networks: networks, host: host, logger: logger)
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
                if case .unix(let path, _) = listener.address { try SocketPath.prepare(path) }
                let channel = try await bind(listener)
                bound.append((listener, channel))
                if case .unix(let path, let mode) = listener.address {
                    createdPaths.append(path)
                    try SocketPath.setMode(path, mode)
                }
                logger.info("listening", metadata: ["socket": "\(listener)", "readOnly": "\(listener.readOnly)"])
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
        let bootstrap = ServerBootstrap(group: group).serverChannelOption(.backlog, value: 128)
        let initializer: @Sendable (any Channel) -> EventLoopFuture<NIOAsyncChannel<RPCInbound, ByteBuffer>> = {
            channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(
                    ByteToMessageHandler(RPCFrameDecoder(), maximumBufferSize: RPCFrameDecoder.maximumBufferSize))
                return try NIOAsyncChannel<RPCInbound, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        switch listener.address {
        case .unix(let path, _):
            return try await bootstrap.bind(
                unixDomainSocketPath: path, cleanupExistingSocketFile: false, childChannelInitializer: initializer)
        case .tcp(let address):
            // A restarted daemon rebinds at once, as libvirtd does, rather than wait out TIME_WAIT.
            return try await bootstrap.serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.so_keepalive), value: 1)
                .bind(host: address.host, port: address.port, childChannelInitializer: initializer)
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
