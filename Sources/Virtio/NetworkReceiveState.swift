/// What the receive half of a virtio-net device knows, kept behind its lock. `generation` names one run
/// of the receive thread: `start` and `stop` bump it, and a thread whose generation is over exits.
struct NetworkReceiveState {
    var generation: UInt64 = 0
    var isActive = false
    /// The receive queue (receiveq1, queue 0) the driver set up.
    var queue = SplitVirtqueue()
    /// VIRTIO_NET_F_MRG_RXBUF was negotiated: a frame may span several chains.
    var mergeable = false
    /// What the driver accepts in received headers (from VIRTIO_NET_F_GUEST_*).
    var offloads: NetworkOffloads = []
    /// Chains taken from the queue for frames and not returned yet, in the order they were taken.
    var reserved: [DescriptorChain] = []
    /// Writable bytes of `reserved`.
    var reservedBytes: UInt64 = 0
    /// Length (header included) of a frame waiting in the frame buffer for enough chains.
    var pendingLength: Int?
    /// The backend failed or hung up; it is no longer polled until the next `start`.
    var backendFailed = false
    /// The queue is broken (reported to the driver); nothing more is done until a reset.
    var queueBroken = false
    /// The generation whose thread is raising an interrupt without this lock, if any.
    var interruptingGeneration: UInt64?
    /// The thread of the current generation.
    var thread: DeviceThread?
    /// Why the receive thread could not be started, when it could not.
    var startFailure: SystemCallFailure?
    /// Frames the backend delivered that the driver could not take (no fitting buffer, bad header).
    var droppedFrames: UInt64 = 0
    /// Frames copied into the receive queue.
    var deliveredFrames: UInt64 = 0

    /// Forgets the queue and any frame or chains in flight (the driver is resetting them).
    mutating func deactivate() {
        isActive = false
        queue = SplitVirtqueue()
        reserved.removeAll(keepingCapacity: true)
        reservedBytes = 0
        pendingLength = nil
        queueBroken = false
    }
}
