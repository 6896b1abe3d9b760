/// What a virtio-console device changes while it runs, kept behind its port's lock.
struct VirtioConsoleState {
    static let receiveQueue = 0
    static let transmitQueue = 1

    /// The host descriptor read for guest input; -1 when there is none.
    let inputDescriptor: Int32
    /// The eventfd that wakes the input thread; -1 once the device stopped.
    var wakeDescriptor: Int32

    var queues: [SplitVirtqueue] = []
    var interrupt = VirtioInterrupt.none
    var isActive = false
    /// A queue failed; nothing is processed until the driver resets the device.
    var isBroken = false
    var isStopping = false
    /// The input reached end of file (or failed): it is not read again.
    var inputClosed = false
    /// Input is waiting and the receive queue had no buffer: do not poll the input until the driver
    /// adds buffers, so its bytes stay in the host descriptor meanwhile.
    var waitingForBuffers = false
    /// A receive chain taken from the ring that no input filled yet; used first next time.
    var heldReceiveChain: DescriptorChain?

    init(inputDescriptor: Int32, wakeDescriptor: Int32) {
        self.inputDescriptor = inputDescriptor
        self.wakeDescriptor = wakeDescriptor
    }

    /// Whether the input thread should wait for input now.
    var wantsInput: Bool {
        isActive && !isBroken && inputDescriptor >= 0 && !inputClosed && !waitingForBuffers
    }

    mutating func activate(queues: [SplitVirtqueue], interrupt: VirtioInterrupt) {
        self.queues = queues
        self.interrupt = interrupt
        isActive =
            queues.count == 2 && queues[Self.receiveQueue].isReady && queues[Self.transmitQueue].isReady
        isBroken = false
        waitingForBuffers = false
        heldReceiveChain = nil
        wakeThread()
    }

    /// The driver reset the device (§2.4): queues and held buffers are forgotten. Input not yet read
    /// stays in the host descriptor for the next driver.
    mutating func reset() {
        queues = []
        interrupt = .none
        isActive = false
        isBroken = false
        waitingForBuffers = false
        heldReceiveChain = nil
        wakeThread()
    }

    /// Makes the input thread re-evaluate what to poll. Called under the lock, so it never writes to an
    /// eventfd that `stop` closed.
    func wakeThread() {
        if wakeDescriptor >= 0 { HostIO.signal(eventFD: wakeDescriptor) }
    }
}
