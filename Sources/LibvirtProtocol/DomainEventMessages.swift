/// `virDomainEventID` (libvirt-domain.h): which kind of event a client registers for.
public struct DomainEventID: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// VIR_DOMAIN_EVENT_ID_LIFECYCLE: defined, started, suspended, stopped...
    public static let lifecycle = DomainEventID(rawValue: 0)
    /// VIR_DOMAIN_EVENT_ID_REBOOT: the guest rebooted and keeps running.
    public static let reboot = DomainEventID(rawValue: 1)
    /// VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED: the last ID the legacy CONNECT_DOMAIN_EVENT_REGISTER_ANY takes;
    /// later ones exist only for per-callback registration.
    public static let lastLegacy = DomainEventID(rawValue: 15)
}

/// `virDomainEventType` (libvirt-domain.h).
public enum DomainEventType: Int32, Sendable, CaseIterable {
    case defined = 0
    case undefined = 1
    case started = 2
    case suspended = 3
    case resumed = 4
    case stopped = 5
    case shutdown = 6
    case pmSuspended = 7
    case crashed = 8
}

/// A lifecycle event: its type and the type-specific detail (`virDomainEvent*DetailType`).
public struct DomainLifecycleEvent: Hashable, Sendable, CustomStringConvertible {
    public var type: DomainEventType
    public var detail: Int32

    public init(_ type: DomainEventType, detail: Int32) {
        self.type = type
        self.detail = detail
    }

    /// VIR_DOMAIN_EVENT_DEFINED_ADDED: a new persistent definition.
    public static let definedAdded = DomainLifecycleEvent(.defined, detail: 0)
    /// VIR_DOMAIN_EVENT_DEFINED_UPDATED: an existing definition was replaced.
    public static let definedUpdated = DomainLifecycleEvent(.defined, detail: 1)
    /// VIR_DOMAIN_EVENT_UNDEFINED_REMOVED.
    public static let undefinedRemoved = DomainLifecycleEvent(.undefined, detail: 0)
    /// VIR_DOMAIN_EVENT_STARTED_BOOTED.
    public static let startedBooted = DomainLifecycleEvent(.started, detail: 0)
    /// VIR_DOMAIN_EVENT_SUSPENDED_PAUSED.
    public static let suspendedPaused = DomainLifecycleEvent(.suspended, detail: 0)
    /// VIR_DOMAIN_EVENT_RESUMED_UNPAUSED.
    public static let resumedUnpaused = DomainLifecycleEvent(.resumed, detail: 0)
    /// VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN.
    public static let stoppedShutdown = DomainLifecycleEvent(.stopped, detail: 0)
    /// VIR_DOMAIN_EVENT_STOPPED_DESTROYED.
    public static let stoppedDestroyed = DomainLifecycleEvent(.stopped, detail: 1)
    /// VIR_DOMAIN_EVENT_STOPPED_CRASHED.
    public static let stoppedCrashed = DomainLifecycleEvent(.stopped, detail: 2)
    /// VIR_DOMAIN_EVENT_STOPPED_FAILED: the emulator (here the VMM) ended unexpectedly.
    public static let stoppedFailed = DomainLifecycleEvent(.stopped, detail: 5)
    /// VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED: the guest finished shutting down (who asked is unknown).
    public static let shutdownFinished = DomainLifecycleEvent(.shutdown, detail: 0)
    /// VIR_DOMAIN_EVENT_SHUTDOWN_HOST: finished after the host asked.
    public static let shutdownHost = DomainLifecycleEvent(.shutdown, detail: 2)

    public var description: String { "\(type) \(detail)" }
}

/// `remote_domain_event_lifecycle_msg`: the body of DOMAIN_EVENT_LIFECYCLE (legacy registration) and
/// the inner message of DOMAIN_EVENT_CALLBACK_LIFECYCLE.
public struct DomainEventLifecycleMessage: XDRCodable, Hashable {
    public var domain: RemoteDomain
    public var event: Int32
    public var detail: Int32

    public init(domain: RemoteDomain, event: DomainLifecycleEvent) {
        self.domain = domain
        self.event = event.type.rawValue
        self.detail = event.detail
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        domain = try RemoteDomain(from: &decoder)
        event = try decoder.decodeInt32()
        detail = try decoder.decodeInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try domain.encode(to: &encoder)
        encoder.encode(event)
        encoder.encode(detail)
    }
}

/// `{ int callbackID; <message> msg; }`: every DOMAIN_EVENT_CALLBACK_* body wraps the legacy event
/// message with the id CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY returned
/// (`remote_domain_event_callback_lifecycle_msg`, `remote_domain_event_callback_reboot_msg`, ...).
public struct DomainEventCallbackMessage<Message: XDRCodable & Hashable>: XDRCodable, Hashable {
    public var callbackID: Int32
    public var message: Message

    public init(callbackID: Int32, message: Message) {
        self.callbackID = callbackID
        self.message = message
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        callbackID = try decoder.decodeInt32()
        message = try Message(from: &decoder)
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        encoder.encode(callbackID)
        try message.encode(to: &encoder)
    }
}

extension RPCPacket {
    /// An event as libvirtd sends it: a MESSAGE of REMOTE_PROGRAM with serial 0 and status OK.
    public static func event(
        _ procedure: RemoteProcedure, body: some XDREncodable
    ) throws(XDREncodingError) -> RPCPacket {
        let header = RPCHeader(
            program: RPCProgram.remote, version: RPCProgram.remoteVersion, procedure: procedure.rawValue,
            type: .message, serial: 0, status: .ok)
        return try RPCPacket(header: header, body: body)
    }
}
