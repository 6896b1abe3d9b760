import LibvirtProtocol

/// Connection, host and listing procedures. Returns nil for procedures handled elsewhere.
extension RemoteDispatcher {
    /// URIs this daemon serves; anything else is another driver's (libvirtd says "no connection driver").
    private static let servedURIs: Set<String> = ["qemu:///system", "qemu:///session", "qemu:///", "qemu://"]

    /// VIR_DRV_FEATURE_* answered yes: keepalive, per-callback events, close callbacks, typed string
    /// parameters. Everything else (migration, fd passing) is no.
    private static let supportedFeatures: Set<ConnectFeature> = [
        .programKeepalive, .remoteEventCallback, .remoteCloseCallback, .typedParameterString,
    ]

    func connectProcedure(
        _ procedure: RemoteProcedure, payload: [UInt8], session: inout RemoteSession
    ) throws -> (any XDREncodable)? {
        switch procedure {
        case .authList:
            return AuthListReply(types: [.none])
        case .connectSupportsFeature:
            let feature = ConnectFeature(rawValue: try decode(IntMessage.self, from: payload).value)
            return IntMessage(Self.supportedFeatures.contains(feature))
        case .connectOpen:
            guard !session.isOpen else { throw LibvirtError.internalError("connection already open") }
            let args = try decode(ConnectOpenArgs.self, from: payload)
            let uri = args.name ?? ""
            guard uri.isEmpty || Self.servedURIs.contains(uri) else { throw LibvirtError.noConnect(uri) }
            session.open(
                uri: uri.isEmpty ? "qemu:///system" : uri, readOnly: args.flags & ConnectOpenFlag.readOnly != 0)
            return XDRVoid()
        case .connectClose:
            session.close()
            return XDRVoid()
        case .connectGetType:
            return StringMessage("QEMU")
        case .connectGetVersion:
            return UnsignedHyperMessage(host.hypervisorVersion)
        case .connectGetLibVersion:
            return UnsignedHyperMessage(host.libraryVersion)
        case .connectGetHostname:
            return StringMessage(host.hostname)
        case .connectGetURI:
            return StringMessage(session.uri)
        case .connectIsSecure:
            // UNIX sockets are local and credential-checked; libvirtd says secure for them too.
            return IntMessage(true)
        case .connectGetMaxVcpus:
            _ = try decode(ConnectGetMaxVcpusArgs.self, from: payload)
            return IntMessage(host.maxVirtualCPUs)
        case .nodeGetInfo:
            return host.nodeInfo
        case .connectGetCapabilities:
            return StringMessage(host.capabilitiesXML)
        case .connectGetDomainCapabilities:
            let request = try decode(ConnectGetDomainCapabilitiesArgs.self, from: payload)
            return StringMessage(try DomainCapabilities.resolve(request, emulatorPath: host.vmmExecutable).xml)
        case .nodeGetSecurityModel:
            // No security driver: an empty model tells clients there is nothing to show.
            return SecurityModelReply(model: [], doi: [])
        case .connectRegisterCloseCallback, .connectUnregisterCloseCallback:
            return XDRVoid()
        case .connectDomainEventCallbackRegisterAny:
            let args = try decode(DomainEventCallbackRegisterArgs.self, from: payload)
            return IntMessage(
                try session.eventCallbacks.register(
                    eventID: DomainEventID(rawValue: args.eventID), domain: args.domain?.uuid))
        case .connectDomainEventCallbackDeregisterAny:
            try session.eventCallbacks.deregister(callbackID: try decode(IntMessage.self, from: payload).value)
            return XDRVoid()
        case .connectDomainEventRegisterAny:
            let eventID = DomainEventID(rawValue: try decode(IntMessage.self, from: payload).value)
            try session.eventCallbacks.registerLegacy(eventID: eventID)
            return XDRVoid()
        case .connectDomainEventDeregisterAny:
            let eventID = DomainEventID(rawValue: try decode(IntMessage.self, from: payload).value)
            try session.eventCallbacks.deregisterLegacy(eventID: eventID)
            return XDRVoid()
        case .connectDomainEventRegister:
            // `remote_connect_domain_event_register_ret`: cb_registered, which libvirtd leaves 0 and
            // clients ignore.
            try session.eventCallbacks.registerLegacy(eventID: .lifecycle)
            return IntMessage(false)
        case .connectDomainEventDeregister:
            try session.eventCallbacks.deregisterLegacy(eventID: .lifecycle)
            return IntMessage(false)
        default:
            return nil
        }
    }
}
