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
    /// Registered domain event callbacks, shared with the task that sends the events.
    let eventCallbacks: EventCallbacks
    /// A console DOMAIN_OPEN_CONSOLE just opened, for the connection to bridge once the reply is sent
    /// (stream data may only follow the reply).
    private var pendingConsole: OpenedConsole?

    init(socketIsReadOnly: Bool, eventCallbacks: EventCallbacks = EventCallbacks()) {
        self.socketIsReadOnly = socketIsReadOnly
        self.eventCallbacks = eventCallbacks
    }

    var isReadOnly: Bool { socketIsReadOnly || openedReadOnly }

    mutating func open(uri: String, readOnly: Bool) {
        isOpen = true
        self.uri = uri
        openedReadOnly = readOnly
    }

    mutating func close() {
        isOpen = false
        eventCallbacks.removeAll()
    }

    mutating func setPendingConsole(_ console: OpenedConsole) {
        pendingConsole = console
    }

    mutating func takePendingConsole() -> OpenedConsole? {
        defer { pendingConsole = nil }
        return pendingConsole
    }
}
