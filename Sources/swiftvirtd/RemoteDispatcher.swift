import DomainXML
import LibvirtProtocol
import Logging
import Management

/// Answers libvirt RPC packets: every CALL gets a REPLY (a result or a libvirt error), keepalive PINGs
/// get PONGs, anything else is logged and dropped as libvirtd does. Shared by all connections; each
/// connection passes its own `RemoteSession`.
struct RemoteDispatcher: Sendable {
    let backend: any DomainBackend
    let storage: StoragePools
    /// Virtual networks; nil when the daemon serves domains only.
    let networks: ManagedNetworks?
    let host: HostDescription
    let logger: Logger
    /// Console sessions of all connections (one per domain at a time).
    let consoles = ConsoleSessions()

    /// The reply to send for `packet`, or nil if it needs none.
    func handle(_ packet: RPCPacket, session: inout RemoteSession) async -> RPCPacket? {
        let header = packet.header
        if header.program == RPCProgram.keepalive, header.version == RPCProgram.keepaliveVersion,
            header.type == .message
        {
            return header.procedure == KeepaliveProcedure.ping.rawValue ? KeepaliveProcedure.pong.packet : nil
        }
        guard header.type == .call || header.type == .callWithFDs else {
            logger.debug(
                "dropping packet that is not a call",
                metadata: ["type": "\(header.type)", "program": "\(header.program)", "serial": "\(header.serial)"])
            return nil
        }
        guard header.program == RPCProgram.remote, header.version == RPCProgram.remoteVersion else {
            return errorReply(
                to: header, .rpc("Cannot find program \(header.program) version \(header.version)"))
        }
        guard header.status == .ok else {
            return errorReply(to: header, .rpc("Unexpected message status \(header.status.rawValue)"))
        }
        let procedure = RemoteProcedure(rawValue: header.procedure)
        logger.debug("call", metadata: ["procedure": "\(procedure)", "serial": "\(header.serial)"])
        do {
            let body = try await call(procedure, payload: packet.payload, session: &session)
            return try RPCPacket.reply(to: header, body: body)
        } catch {
            let libvirtError = Self.libvirtError(for: error)
            logger.debug(
                "call failed",
                metadata: [
                    "procedure": "\(procedure)", "code": "\(libvirtError.code.rawValue)",
                    "message": "\(libvirtError.message)",
                ])
            return errorReply(to: header, libvirtError)
        }
    }

    private func errorReply(to header: RPCHeader, _ error: LibvirtError) -> RPCPacket {
        RPCPacket.errorReply(to: header, error: error.remoteError)
    }

    /// Procedures a client may call before CONNECT_OPEN (libvirtd allows the auth and feature probes).
    private static let allowedBeforeOpen: Set<RemoteProcedure> = [
        .connectOpen, .authList, .connectSupportsFeature, .connectClose,
    ]

    /// Procedures refused on read-only connections (libvirt's virCheckReadOnlyGoto).
    private static let modifying: Set<RemoteProcedure> = [
        .domainDefineXML, .domainDefineXMLFlags, .domainUndefine, .domainUndefineFlags, .domainCreate,
        .domainCreateWithFlags, .domainCreateXML, .domainDestroy, .domainDestroyFlags, .domainShutdown,
        .domainShutdownFlags, .domainReboot, .domainSuspend, .domainResume, .domainSetAutostart,
        .domainOpenConsole, .storagePoolDefineXML, .storagePoolCreateXML, .storagePoolUndefine, .storagePoolBuild,
        .storagePoolCreate, .storagePoolDestroy, .storagePoolDelete, .storagePoolRefresh, .storagePoolSetAutostart,
        .storageVolumeCreateXML, .storageVolumeCreateXMLFrom, .storageVolumeDelete, .storageVolumeResize,
        .storageVolumeWipe, .storageVolumeWipePattern, .storageVolumeUpload, .storageVolumeDownload,
    ]

    private func call(
        _ procedure: RemoteProcedure, payload: [UInt8], session: inout RemoteSession
    ) async throws -> any XDREncodable {
        if !session.isOpen, !Self.allowedBeforeOpen.contains(procedure) {
            throw LibvirtError.internalError("connection not open")
        }
        if session.isReadOnly, Self.modifying.contains(procedure) || Self.modifyingNetworkProcedures.contains(procedure)
        {
            throw LibvirtError.readOnly(procedure.description)
        }
        if let reply = try connectProcedure(procedure, payload: payload, session: &session) {
            return reply
        }
        if procedure == .domainOpenConsole {
            return try await openConsole(payload: payload, session: &session)
        }
        if let reply = try await domainProcedure(procedure, payload: payload) {
            return reply
        }
        if let reply = try await storageProcedure(procedure, payload: payload) {
            return reply
        }
        if let reply = try await networkProcedure(procedure, payload: payload) {
            return reply
        }
        throw LibvirtError.noSupport(procedure.description)
    }

    /// Decodes call arguments; malformed XDR is the client's error, reported as libvirtd does.
    func decode<T: XDRDecodable>(_ type: T.Type, from payload: [UInt8]) throws(LibvirtError) -> T {
        do {
            return try XDRDecoder.decode(type, from: payload)
        } catch {
            throw .rpc("Unable to decode message payload: \(error)")
        }
    }

    /// The libvirt error a client sees for any failure.
    static func libvirtError(for error: any Error) -> LibvirtError {
        switch error {
        case let error as LibvirtError: return error
        case let error as DomainXMLError: return error.libvirtError
        case let error as ManagementError: return error.libvirtError
        case let error as NetworkDefinitionError: return error.libvirtError
        case let error as XDRDecodingError: return .rpc("Unable to decode message payload: \(error)")
        case let error as XDREncodingError: return .rpc("Unable to encode message payload: \(error)")
        default: return .internalError("\(error)")
        }
    }
}
