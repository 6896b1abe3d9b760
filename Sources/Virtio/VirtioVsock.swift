import GuestMemory
import Synchronization

/// A virtio socket device (virtio 1.2 §5.10, device ID 19) carrying stream connections between the guest
/// and host Unix sockets, with the host-side conventions of Firecracker's vsock (docs/vsock.md):
/// - The guest connects to CID 2 port P → the device connects to the Unix socket "\(socketPath)_\(P)";
///   if nothing listens there, the guest gets an RST.
/// - A host process connects to `socketPath` (the device listens there) and writes "CONNECT <port>\n";
///   the device sends the guest a REQUEST for that port from a host port of its own (2^30 and up), and on
///   the guest's RESPONSE writes "OK <host port>\n" to the host process. From then on bytes flow both
///   ways; an RST or a failure closes the host socket.
///
/// Queues: 0 receive (device → guest), 1 transmit (guest → device), 2 event (unused: this device never
/// sends VIRTIO_VSOCK_EVENT_TRANSPORT_RESET). Only VIRTIO_VSOCK_TYPE_STREAM is carried.
///
/// The device runs a thread from `init` until `stop` (or until it is released): it polls the listening
/// socket, the connections' sockets and an eventfd, fills receive buffers from host sockets and raises
/// the interrupt. A driver reset closes every connection and sends nothing; the listening socket and the
/// thread stay, and connection state starts afresh at the next activation.
public final class VirtioVsock: VirtioDevice {
    /// Virtio device ID of a socket device (§5).
    public static let socketDeviceID: UInt32 = 19
    /// VMADDR_CID_HOST: the host's address as the guest sees it.
    public static let hostCID: UInt64 = 2
    /// Queue Size offered to the driver.
    public static let queueSize: UInt16 = 256
    /// buf_alloc advertised per connection: Linux's default vsock buffer size.
    public static let defaultBufferAllocation: UInt32 = 256 * 1024
    /// The first host port given to host-initiated connections.
    static let firstHostPort: UInt32 = 1 << 30
    /// Largest payload in one packet either way (Linux VIRTIO_VSOCK_MAX_PKT_BUF_SIZE).
    static let maximumPayload: UInt32 = 64 * 1024
    /// Open connections at most; each may buffer up to its buf_alloc for a slow host peer.
    static let maximumConnections = 256
    /// Host clients at most that have connected but not finished their CONNECT line.
    static let maximumHandshakes = 16
    /// RSTs at most waiting for receive buffers.
    static let maximumQueuedResets = 256
    /// Most chains handled per transmit notification, so a guest refilling the ring from another vCPU
    /// cannot hold the notifying thread forever.
    static let maximumChainsPerCall = 65536
    /// Pending connections the listening socket's backlog holds.
    static let listenBacklog: Int32 = 64

    public let deviceID: UInt32 = VirtioVsock.socketDeviceID
    /// VERSION_1 and EVENT_IDX. VIRTIO_VSOCK_F_STREAM (bit 0) is not offered: without it a device acts
    /// as a stream device (§5.10.3), and Linux does not know the bit.
    public let deviceFeatures: UInt64 = VirtioFeature.version1 | VirtioFeature.eventIndex
    public let queueCount = 3
    public let maxQueueSize: UInt16 = VirtioVsock.queueSize

    /// The guest's context ID (config field guest_cid).
    public let guestCID: UInt64
    /// The Unix socket the device listens on; guest connections go to "\(socketPath)_\(port)".
    public let socketPath: String

    private let multiplexer: VsockMultiplexer
    private let thread: Mutex<DeviceThread?>

    /// Listens on `socketPath` and starts the device thread.
    /// - Parameters:
    ///   - guestCID: 3 ... 0xFFFF_FFFE (0–2 are reserved, and Linux's CIDs are 32-bit).
    ///   - socketPath: a path for a new Unix socket (it must not exist); removed again by `stop`.
    ///   - memory: guest RAM; the device thread writes receive buffers there.
    public convenience init(guestCID: UInt64, socketPath: String, memory: GuestMemory) throws(VsockError) {
        try self.init(
            guestCID: guestCID, socketPath: socketPath, memory: memory,
            bufferAllocation: Self.defaultBufferAllocation)
    }

    /// As the public initializer, with a chosen buf_alloc (tests use a small one to exercise credit).
    init(guestCID: UInt64, socketPath: String, memory: GuestMemory, bufferAllocation: UInt32) throws(VsockError) {
        guard guestCID > Self.hostCID, guestCID < 0xFFFF_FFFF else { throw .invalidGuestCID(guestCID) }
        self.guestCID = guestCID
        self.socketPath = socketPath
        let listener: Int32
        let wake: Int32
        do {
            listener = try HostIO.listenUnix(path: socketPath, backlog: Self.listenBacklog)
        } catch {
            throw .host(error)
        }
        do {
            wake = try HostIO.makeEventFD()
        } catch {
            HostIO.close(listener)
            HostIO.unlink(path: socketPath)
            throw .host(error)
        }
        let multiplexer = VsockMultiplexer(
            state: VsockState(
                guestCID: guestCID, socketPath: socketPath, bufferAllocation: max(bufferAllocation, 1),
                listenDescriptor: listener, wakeDescriptor: wake),
            memory: memory)
        self.multiplexer = multiplexer
        do {
            thread = Mutex(try DeviceThread(name: "virtio-vsock") { multiplexer.run() })
        } catch {
            HostIO.close(listener)
            HostIO.close(wake)
            HostIO.unlink(path: socketPath)
            throw .host(.threadCreation(errno: error.errno))
        }
    }

    deinit {
        stop()
    }

    /// Ends the device: closes every connection, joins the thread, closes and removes the listening
    /// socket. Idempotent. Call it outside the transport's lock (at machine teardown), never from a
    /// device callback: the thread may be waiting for that lock to raise an interrupt.
    public func stop() {
        guard let running = thread.withLock({ $0.take() }) else { return }
        multiplexer.state.withLock { state in
            state.reset()
            state.isStopping = true
            state.wakeThread()
        }
        running.join()
        multiplexer.state.withLock { state in
            HostIO.close(state.listenDescriptor)
            HostIO.close(state.wakeDescriptor)
            state.listenDescriptor = -1
            state.wakeDescriptor = -1
        }
        HostIO.unlink(path: socketPath)
    }

    /// struct virtio_vsock_config { le64 guest_cid; } (§5.10.4). Bytes past it read as 0.
    public func readConfig(offset: UInt64, size: Int) -> UInt64 {
        var value: UInt64 = 0
        for lane in 0..<min(max(size, 0), 8) {
            let (index, overflow) = offset.addingReportingOverflow(UInt64(lane))
            guard !overflow, index < 8 else { continue }
            value |= ((guestCID >> (8 * index)) & 0xFF) << UInt64(8 * lane)
        }
        return value
    }

    /// guest_cid is read-only.
    public func writeConfig(offset: UInt64, size: Int, value: UInt64) {}

    public func activate(features: UInt64, queues: [SplitVirtqueue], interrupt: VirtioInterrupt) {
        multiplexer.state.withLock { $0.activate(queues: queues, interrupt: interrupt) }
    }

    public func processQueue(index: Int, memory: GuestMemory) throws(VirtqueueError) -> Bool {
        try multiplexer.processQueue(index: index, memory: memory)
    }

    /// Closes every connection without telling the guest (its driver is gone) and drops queued packets.
    /// Does not wait for the thread: the thread touches queues and sockets only under the lock taken
    /// here, so once this returns it cannot use the old activation's queues.
    public func reset() {
        multiplexer.state.withLock { $0.reset() }
    }
}
