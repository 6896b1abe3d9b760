/// Program numbers and versions carried in every header.
public enum RPCProgram {
    /// REMOTE_PROGRAM (remote_protocol.x): the libvirt API.
    public static let remote: UInt32 = 0x2000_8086
    public static let remoteVersion: UInt32 = 1
    /// KEEPALIVE_PROGRAM (virkeepaliveprotocol.x): ASCII "keep".
    public static let keepalive: UInt32 = 0x6b65_6570
    public static let keepaliveVersion: UInt32 = 1
}

/// `keepalive_procedure`: PING and PONG travel as MESSAGE packets with empty payloads.
public enum KeepaliveProcedure: Int32, Sendable {
    case ping = 1
    case pong = 2

    /// The packet answering or sending this keepalive message.
    public var packet: RPCPacket {
        RPCPacket(
            header: RPCHeader(
                program: RPCProgram.keepalive, version: RPCProgram.keepaliveVersion, procedure: rawValue,
                type: .message, serial: 0, status: .ok))
    }
}

/// `VIR_DRV_FEATURE_*` (src/libvirt_internal.h) asked with REMOTE_PROC_CONNECT_SUPPORTS_FEATURE.
public struct ConnectFeature: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let remote = ConnectFeature(rawValue: 2)
    public static let fdPassing = ConnectFeature(rawValue: 8)
    public static let typedParameterString = ConnectFeature(rawValue: 9)
    /// The server answers keepalive PINGs.
    public static let programKeepalive = ConnectFeature(rawValue: 10)
    /// Per-callback event registration (CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY).
    public static let remoteEventCallback = ConnectFeature(rawValue: 14)
    /// CONNECT_REGISTER_CLOSE_CALLBACK is understood.
    public static let remoteCloseCallback = ConnectFeature(rawValue: 15)
}

/// `remote_auth_type`.
public enum RemoteAuthType: Int32, Sendable {
    case none = 0
    case sasl = 1
    case polkit = 2
}

/// `virConnectFlags` bits sent in REMOTE_PROC_CONNECT_OPEN.
public enum ConnectOpenFlag {
    /// VIR_CONNECT_RO: the client asks for a read-only connection.
    public static let readOnly: UInt32 = 1
}

/// Where libvirtd listens on the local host (`qemu:///system`); swiftvirtd takes its place there so
/// stock clients find it, and SwiftVirt's own client connects there by default.
public enum DaemonSocketPath {
    /// Read-write: root only, no authentication.
    public static let readWrite = "/var/run/libvirt/libvirt-sock"
    /// Read-only: every local user.
    public static let readOnly = "/var/run/libvirt/libvirt-sock-ro"
}
