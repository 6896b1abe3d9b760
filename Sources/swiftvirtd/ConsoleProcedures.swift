import LibvirtProtocol
import Management

/// A console the backend connected, waiting for its connection to start the stream.
struct OpenedConsole: Sendable {
    var connection: ConsoleConnection
    var lease: ConsoleLease
}

/// VIR_DOMAIN_CONSOLE_FORCE: take the console from whoever holds it.
private let consoleForceFlag: UInt32 = 1 << 0

extension RemoteDispatcher {
    /// DOMAIN_OPEN_CONSOLE: claims the console, connects it, and leaves it in the session; the
    /// connection starts the stream after sending this (empty) reply.
    func openConsole(payload: [UInt8], session: inout RemoteSession) async throws -> any XDREncodable {
        let args = try decode(DomainOpenConsoleArgs.self, from: payload)
        let uuid = try await existing(args.domain).uuid
        let lease = try await consoles.claim(uuid, force: args.flags & consoleForceFlag != 0)
        do {
            let connection = try await backend.openConsole(uuid, device: args.deviceName, flags: args.flags)
            session.setPendingConsole(OpenedConsole(connection: connection, lease: lease))
            return XDRVoid()
        } catch {
            await consoles.release(lease)
            throw error
        }
    }
}
