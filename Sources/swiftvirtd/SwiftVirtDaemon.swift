import ArgumentParser
import Dispatch
import LibvirtProtocol
import Logging
import Management

#if canImport(Glibc)
    import Glibc
#endif

/// `swiftvirtd`: serves libvirt's remote protocol so virsh, virt-install and the libvirt API bindings
/// manage SwiftVirt domains unchanged.
@main
struct SwiftVirtDaemon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftvirtd",
        abstract: "The SwiftVirt management daemon, speaking libvirt's remote protocol.",
        discussion: """
            Clients connect with their usual URI, e.g. `virsh -c qemu:///system`; for a socket \
            elsewhere, `virsh -c 'qemu:///system?socket=/path/to/sock'`.
            """)

    @Option(name: .long, help: "The read-write socket (root only, no authentication).")
    var socket = DaemonSocketPath.readWrite

    @Option(name: .long, help: "The read-only socket, open to every local user.")
    var readonlySocket = DaemonSocketPath.readOnly

    @Flag(name: .long, help: "Do not listen on the read-only socket.")
    var noReadonlySocket = false

    @Option(
        name: .customLong("listen-tcp"),
        help: ArgumentHelp(
            "Also serve on TCP (libvirt's qemu+tcp://, port \(TCPListenAddress.libvirtPort)); the address "
                + "defaults to \(TCPListenAddress.defaultHost). Needs --tcp-auth none.",
            valueName: "[address:]port"),
        transform: { text in
            do {
                return try TCPListenAddress(parsing: text)
            } catch {
                throw ValidationError("\(error)")
            }
        })
    var listenTCP: TCPListenAddress?

    @Option(
        name: .customLong("tcp-auth"),
        help: ArgumentHelp(
            "Authentication on the TCP socket: only 'none' (swiftvirtd has no SASL), so that anyone who can "
                + "reach the port controls every VM is said out loud.",
            valueName: "none"))
    var tcpAuth: String?

    @Flag(name: .customLong("tcp-readonly"), help: "Serve the TCP socket read-only.")
    var tcpReadOnly = false

    @Option(name: .long, help: "Persistent domain definitions and autostart links (domains/, autostart/).")
    var stateDir = "/etc/swiftvirt"

    @Option(name: .long, help: "Running VMMs' pid files, sockets and logs (a tmpfs, emptied at boot).")
    var runDir = "/run/swiftvirt"

    @Option(
        name: .customLong("swiftvirt"),
        help: ArgumentHelp("The VMM executable started for each running domain.", valueName: "path"))
    var vmmExecutable: String?

    @Option(
        name: .long, help: "trace, debug, info, notice, warning, error or critical.",
        transform: { text in
            guard let level = Logger.Level(rawValue: text) else {
                throw ValidationError(
                    "unknown log level '\(text)'; use trace, debug, info, notice, warning, error or critical")
            }
            return level
        })
    var logLevel: Logger.Level = .info

    func validate() throws {
        guard !socket.isEmpty else { throw ValidationError("--socket needs a path") }
        if !noReadonlySocket, readonlySocket == socket {
            throw ValidationError("--readonly-socket must differ from --socket (or pass --no-readonly-socket)")
        }
        guard stateDir.hasPrefix("/"), runDir.hasPrefix("/") else {
            throw ValidationError("--state-dir and --run-dir need absolute paths")
        }
        if let vmmExecutable, !vmmExecutable.hasPrefix("/") {
            throw ValidationError("--swiftvirt needs an absolute path")
        }
        try validateTCP()
    }

    /// libvirt's TCP transport without TLS requires SASL, which swiftvirtd lacks: TCP is served only
    /// when authentication is explicitly waived. A refusal exits 1 (a configuration error, not usage).
    private func validateTCP() throws(DaemonConfigurationError) {
        guard let listenTCP else {
            if tcpAuth != nil || tcpReadOnly {
                throw DaemonConfigurationError(
                    "--tcp-auth and --tcp-readonly apply to --listen-tcp, which is not given")
            }
            return
        }
        switch tcpAuth {
        case "none"?:
            return
        case nil:
            throw DaemonConfigurationError(
                "--listen-tcp \(listenTCP) refused: libvirt's TCP transport needs SASL authentication, which "
                    + "swiftvirtd does not have. Pass --tcp-auth none to serve it without authentication "
                    + "(anyone who can reach the port then controls every VM; add --tcp-readonly to allow only "
                    + "read-only access), or reach the daemon over its UNIX socket (e.g. qemu+ssh://)")
        case let other?:
            throw DaemonConfigurationError(
                "--tcp-auth '\(other)' is not supported: swiftvirtd has no SASL; the only value is 'none'")
        }
    }

    /// `swiftvirt` next to this executable, as the two are installed together.
    private static func siblingVMMExecutable() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let path = String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return String(path[...slash]) + "swiftvirt"
    }

    func run() async throws {
        // A console or control peer that goes away must not kill the daemon with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        var logger = Logger(label: "swiftvirtd")
        logger.logLevel = logLevel
        var listeners = [RemoteListener.readWrite(socket)]
        if !noReadonlySocket { listeners.append(.readOnly(readonlySocket)) }
        if let listenTCP {
            listeners.append(.tcp(listenTCP, readOnly: tcpReadOnly))
            logger.warning(
                tcpReadOnly
                    ? "TCP without authentication: anyone who can reach \(listenTCP) can list every VM and read its definition"
                    : "TCP without authentication: anyone who can reach \(listenTCP) controls every VM",
                metadata: ["listen": "\(listenTCP)", "auth": "none", "readOnly": "\(tcpReadOnly)"])
        }
        guard let executable = vmmExecutable ?? Self.siblingVMMExecutable() else {
            throw ValidationError("cannot find this executable's directory; pass --swiftvirt PATH")
        }
        if access(executable, X_OK) != 0 {
            logger.warning(
                "the VMM executable is not executable; domains will not start",
                metadata: ["path": "\(executable)", "hint": "pass --swiftvirt PATH"])
        }
        let paths = ManagementPaths(stateDirectory: stateDir, runDirectory: runDir)
        var configuration = ManagedDomainBackend.Configuration(paths: paths, vmmExecutable: executable)
        let noticeLogger = logger
        configuration.notice = { noticeLogger.notice("\($0)") }
        let events = DomainEventHub()
        configuration.events = { events.publish($0) }
        // Refuse before touching any VM if another daemon serves this socket: two daemons would both
        // adopt the same VMMs.
        try SocketPath.prepare(socket)
        // Networks first: autostarted domains may attach to autostarted networks.
        var networkConfiguration = ManagedNetworks.Configuration(paths: paths)
        networkConfiguration.notice = configuration.notice
        let networks = try await ManagedNetworks.open(networkConfiguration)
        configuration.networks = networks
        let backend = try await ManagedDomainBackend.open(configuration)
        let count = await backend.list().count
        logger.info(
            "domains loaded", metadata: ["count": "\(count)", "stateDir": "\(stateDir)", "runDir": "\(runDir)"])
        let storage = await StoragePools.open(paths: paths) { noticeLogger.notice("\($0)") }
        let poolCount = await storage.list().count
        logger.info("storage pools loaded", metadata: ["count": "\(poolCount)"])
        let server = RemoteServer(
            listeners: listeners, backend: backend, storage: storage, networks: networks, events: events,
            host: .current(vmmExecutable: executable),
            logger: logger)
        let serving = Task { try await server.run() }
        // SIGTERM and SIGINT end the server cleanly, so its socket files are removed.
        let signalSources = [SIGTERM, SIGINT].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                logger.notice("stopping", metadata: ["signal": "\(signalNumber)"])
                serving.cancel()
            }
            source.resume()
            return source
        }
        defer { for source in signalSources { source.cancel() } }
        do {
            try await serving.value
        } catch is CancellationError {
            return
        }
    }
}

/// A daemon configuration swiftvirtd refuses to start with; unlike a usage error it exits 1.
struct DaemonConfigurationError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
