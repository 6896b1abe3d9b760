/// Everything a virtio-vsock device changes while it runs, kept behind the multiplexer's lock: the
/// queues and interrupt handle of the current activation, the connections and the host sockets still
/// in their "CONNECT <port>\n" handshake.
struct VsockState {
    static let receiveQueue = 0
    static let transmitQueue = 1
    static let eventQueue = 2

    let guestCID: UInt64
    /// Guest connections to host port P go to the Unix socket "\(socketPath)_\(P)".
    let socketPath: String
    /// buf_alloc we advertise per connection.
    let bufferAllocation: UInt32
    /// The listening socket at `socketPath`; -1 once the device stopped.
    var listenDescriptor: Int32
    /// The eventfd that wakes the device thread; -1 once the device stopped.
    var wakeDescriptor: Int32

    var queues: [SplitVirtqueue] = []
    var interrupt = VirtioInterrupt.none
    var isActive = false
    /// A queue failed; nothing is processed until the driver resets the device.
    var isBroken = false
    /// `stop` was called: the thread returns.
    var isStopping = false

    var connections: [VsockConnectionKey: VsockConnection] = [:]
    var handshakes: [VsockHandshake] = []
    /// RSTs for the guest that belong to no live connection (refused requests, unknown connections,
    /// connections closed by the device), sent before anything else.
    var pendingResets: [VsockPacketHeader] = []
    /// A receive chain taken from the ring that no packet filled yet; used first next time.
    var heldReceiveChain: DescriptorChain?
    /// Where the next fill starts looking among the connections, so one busy socket cannot starve others.
    var receiveCursor = 0
    var nextIdentifier: UInt64 = 1
    var nextHostPort = VirtioVsock.firstHostPort

    init(
        guestCID: UInt64, socketPath: String, bufferAllocation: UInt32, listenDescriptor: Int32,
        wakeDescriptor: Int32
    ) {
        self.guestCID = guestCID
        self.socketPath = socketPath
        self.bufferAllocation = bufferAllocation
        self.listenDescriptor = listenDescriptor
        self.wakeDescriptor = wakeDescriptor
    }

    /// DRIVER_OK: the receive and transmit queues must be ready; the event queue is never used.
    mutating func activate(queues: [SplitVirtqueue], interrupt: VirtioInterrupt) {
        closeEverything()
        self.queues = queues
        self.interrupt = interrupt
        isActive =
            queues.count == 3 && queues[Self.receiveQueue].isReady && queues[Self.transmitQueue].isReady
        isBroken = false
        wakeThread()
    }

    /// The driver reset the device (§2.4): nothing is sent, every connection and handshake is closed
    /// (host peers see end of file), queued packets are dropped. The listening socket stays open, so
    /// host clients that connect meanwhile wait in its backlog until the next activation.
    mutating func reset() {
        closeEverything()
        queues = []
        interrupt = .none
        isActive = false
        isBroken = false
        wakeThread()
    }

    private mutating func closeEverything() {
        for connection in connections.values { HostIO.close(connection.hostSocket) }
        connections = [:]
        for handshake in handshakes { HostIO.close(handshake.socket) }
        handshakes = []
        pendingResets = []
        heldReceiveChain = nil
        receiveCursor = 0
    }

    /// Makes the device thread rebuild its poll set. Called under the lock, so it never writes to an
    /// eventfd that `stop` closed.
    func wakeThread() {
        if wakeDescriptor >= 0 { HostIO.signal(eventFD: wakeDescriptor) }
    }

    mutating func makeIdentifier() -> UInt64 {
        defer { nextIdentifier &+= 1 }
        return nextIdentifier
    }

    /// Queues an RST answering `header` (addresses swapped). Beyond the limit RSTs are dropped: a guest
    /// flooding bogus packets only loses answers it does not need.
    mutating func queueReset(answering header: VsockPacketHeader) {
        guard pendingResets.count < VirtioVsock.maximumQueuedResets else { return }
        pendingResets.append(
            VsockPacketHeader(
                sourceCID: VirtioVsock.hostCID, destinationCID: guestCID, sourcePort: header.destinationPort,
                destinationPort: header.sourcePort, operation: .reset))
    }

    /// Closes a connection's host socket; with `notifyGuest`, queues an RST for the guest.
    mutating func removeConnection(_ key: VsockConnectionKey, notifyGuest: Bool) {
        guard let connection = connections.removeValue(forKey: key) else { return }
        HostIO.close(connection.hostSocket)
        if notifyGuest {
            queueReset(
                answering: VsockPacketHeader(
                    sourceCID: guestCID, destinationCID: VirtioVsock.hostCID, sourcePort: key.guestPort,
                    destinationPort: key.hostPort, operation: .reset))
        }
    }

    /// Applies what a connection asked for after an event.
    mutating func apply(_ verdict: VsockConnection.Verdict, to key: VsockConnectionKey) {
        switch verdict {
        case .keep: break
        case .reset: removeConnection(key, notifyGuest: true)
        case .close: removeConnection(key, notifyGuest: false)
        }
    }

    /// Runs `body` on the stored connection in place (no copy of its buffers).
    mutating func withConnection<R>(_ key: VsockConnectionKey, _ body: (inout VsockConnection) -> R) -> R? {
        guard let index = connections.index(forKey: key) else { return nil }
        return body(&connections.values[index])
    }
}
