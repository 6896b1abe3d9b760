import LibvirtProtocol

/// Per-connection state of the remote protocol: whether CONNECT_OPEN happened, read-only-ness and the
/// event callbacks the client registered. Owned by the connection's task; never shared.
struct RemoteSession: Sendable {
    /// The connection came in on the read-only socket.
    let socketIsReadOnly: Bool
    private(set) var isOpen = false
    /// The client asked for VIR_CONNECT_RO in CONNECT_OPEN.
    private(set) var openedReadOnly = false
    /// The URI the client opened, reported back by CONNECT_GET_URI.
    private(set) var uri = "qemu:///system"
    /// Registered domain event callbacks: callback id → virDomainEventID.
    private(set) var eventCallbacks: [Int32: Int32] = [:]
    private var nextCallbackID: Int32 = 1
    /// A console DOMAIN_OPEN_CONSOLE just opened, for the connection to bridge once the reply is sent
    /// (stream data may only follow the reply).
    private var pendingConsole: OpenedConsole?

    /// libvirt's limit on event callbacks per connection is generous; this one keeps a client from
    /// growing the table without bound.
    static let maxEventCallbacks = 1024

    init(socketIsReadOnly: Bool) {
        self.socketIsReadOnly = socketIsReadOnly
    }

    var isReadOnly: Bool { socketIsReadOnly || openedReadOnly }

    mutating func open(uri: String, readOnly: Bool) {
        isOpen = true
        self.uri = uri
        openedReadOnly = readOnly
    }

    mutating func close() {
        isOpen = false
        eventCallbacks = [:]
    }

    mutating func setPendingConsole(_ console: OpenedConsole) {
        pendingConsole = console
    }

    mutating func takePendingConsole() -> OpenedConsole? {
        defer { pendingConsole = nil }
        return pendingConsole
    }

    mutating func registerEventCallback(eventID: Int32) throws(LibvirtError) -> Int32 {
        guard eventCallbacks.count < Self.maxEventCallbacks else {
            throw .operationFailed("too many event callbacks registered on this connection")
        }
        let id = nextCallbackID
        nextCallbackID = nextCallbackID == Int32.max ? 1 : nextCallbackID + 1
        eventCallbacks[id] = eventID
        return id
    }

    mutating func deregisterEventCallback(_ id: Int32) throws(LibvirtError) {
        guard eventCallbacks.removeValue(forKey: id) != nil else {
            throw .invalidArgument("callback \(id) not registered")
        }
    }
}
