import GuestMemory
import Synchronization

/// The transmit half of a virtio-net device (virtio 1.2 §5.1.6.2): on the driver's notification, each
/// chain on the transmit queue (a header and a frame, device-readable only) is gathered into one host
/// buffer and handed to the backend, on the notifying thread, then returned with used length 0.
///
/// A chain that is not a frame (a writable buffer, shorter than the header, longer than the header plus
/// `VirtioNet.maximumFrameLength`) or that the backend refuses (its queue is full) is dropped and counted;
/// the queue keeps working. Only a malformed ring breaks it.
final class NetworkTransmitter: Sendable {
    /// Most chains handled per notification, so a guest refilling the ring from another vCPU cannot hold
    /// this thread forever.
    static let maximumChainsPerNotification = 65536

    private struct State {
        var queue = SplitVirtqueue()
        var isActive = false
        var sentFrames: UInt64 = 0
        var droppedFrames: UInt64 = 0
    }

    private let backend: any NetworkBackend
    private let hasVnetHeader: Bool
    /// Holds the frame being sent; used only under `state`'s lock.
    private let frame = FrameBuffer(capacity: VirtioNetHeader.size + VirtioNet.maximumFrameLength)
    private let state = Mutex(State())

    init(backend: any NetworkBackend) {
        self.backend = backend
        hasVnetHeader = backend.hasVnetHeader
    }

    func start(queue: SplitVirtqueue) {
        state.withLock { state in
            state.queue = queue
            state.isActive = queue.isReady
        }
    }

    /// Waits for a transmission in progress, then forgets the queue.
    func stop() {
        state.withLock { state in
            state.queue = SplitVirtqueue()
            state.isActive = false
        }
    }

    var sentFrames: UInt64 { state.withLock { $0.sentFrames } }
    var droppedFrames: UInt64 { state.withLock { $0.droppedFrames } }

    /// Sends every frame available on the transmit queue. Returns whether the driver asks for an interrupt.
    func process(memory: GuestMemory) throws(VirtqueueError) -> Bool {
        try state.withLock { (state) throws(VirtqueueError) -> Bool in
            guard state.isActive else { return false }
            var added = false
            var handled = 0
            drain: while handled < Self.maximumChainsPerNotification {
                while handled < Self.maximumChainsPerNotification,
                    let chain = try state.queue.popAvailable(memory: memory)
                {
                    if send(chain, memory: memory) {
                        state.sentFrames &+= 1
                    } else {
                        state.droppedFrames &+= 1
                    }
                    try state.queue.addUsed(head: chain.headIndex, length: 0, memory: memory)
                    added = true
                    handled += 1
                }
                // With EVENT_IDX, ask for the next notification, then look again for buffers the driver
                // added before it could see the request (§2.7.10).
                guard state.queue.eventIndexEnabled, handled < Self.maximumChainsPerNotification else {
                    break drain
                }
                try state.queue.setNotificationSuppression(false, memory: memory)
                guard try state.queue.hasAvailable(memory: memory) else { break drain }
            }
            guard added else { return false }
            return try state.queue.shouldInterrupt(memory: memory)
        }
    }

    /// Gathers one chain and sends it; false when it is not a frame or the backend refused it.
    private func send(_ chain: DescriptorChain, memory: GuestMemory) -> Bool {
        let headerSize = UInt64(VirtioNetHeader.size)
        guard chain.writableLength == 0, chain.readableLength > headerSize,
            chain.readableLength <= headerSize + UInt64(VirtioNet.maximumFrameLength)
        else { return false }
        let length = Int(chain.readableLength)
        do {
            try chain.read(
                into: UnsafeMutableRawBufferPointer(rebasing: frame.bytes[0..<length]), from: 0, memory: memory)
            let start = hasVnetHeader ? 0 : VirtioNetHeader.size
            try backend.send(UnsafeRawBufferPointer(rebasing: frame.bytes[start..<length]))
        } catch {
            return false
        }
        return true
    }
}
