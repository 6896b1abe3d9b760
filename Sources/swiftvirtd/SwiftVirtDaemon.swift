import ArgumentParser
import Dispatch
import Logging

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
    var socket = "/var/run/libvirt/libvirt-sock"

    @Option(name: .long, help: "The read-only socket, open to every local user.")
    var readonlySocket = "/var/run/libvirt/libvirt-sock-ro"

    @Flag(name: .long, help: "Do not listen on the read-only socket.")
    var noReadonlySocket = false

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
    }

    func run() async throws {
        var logger = Logger(label: "swiftvirtd")
        logger.logLevel = logLevel
        var listeners = [RemoteListener.readWrite(socket)]
        if !noReadonlySocket { listeners.append(.readOnly(readonlySocket)) }
        let server = RemoteServer(listeners: listeners, backend: UnavailableDomainBackend(), logger: logger)
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
