import GuestMemory
import Synchronization

/// A virtio entropy device (virtio 1.2 §5.4): one request queue whose device-writable buffers are filled
/// with random bytes from the host (`HostEntropy`, getrandom(2)); Linux feeds them to hw_random.
///
/// Each chain gets at most `maximumBytesPerRequest` bytes and its used length says how many. A chain
/// without writable bytes is a driver bug that needs no reset: it is returned with used length 0 and the
/// queue keeps working. Requests are served on the notifying thread.
public final class VirtioRNG: VirtioDevice {
    /// Virtio device ID of an entropy source (§5).
    public static let entropyDeviceID: UInt32 = 4
    /// Queue Size offered to the driver.
    public static let queueSize: UInt16 = 256
    /// Most random bytes per request, so a huge buffer does not hold the notifying vCPU for long.
    public static let maximumBytesPerRequest = 64 * 1024
    /// Most chains handled per notification (Linux keeps a single request in flight).
    static let maximumChainsPerNotification = 1024

    public let deviceID: UInt32 = VirtioRNG.entropyDeviceID
    public let deviceFeatures: UInt64 =
        VirtioFeature.version1 | VirtioFeature.eventIndex | VirtioFeature.indirectDescriptors
    public let queueCount = 1
    public let maxQueueSize: UInt16 = VirtioRNG.queueSize

    private struct State {
        var queue = SplitVirtqueue()
        var isActive = false
    }

    private let state = Mutex(State())

    public init() {}

    /// The device has no configuration space (§5.4.4).
    public func readConfig(offset: UInt64, size: Int) -> UInt64 { 0 }

    public func writeConfig(offset: UInt64, size: Int, value: UInt64) {}

    public func activate(features: UInt64, queues: [SplitVirtqueue], interrupt: VirtioInterrupt) {
        state.withLock { state in
            state.queue = queues.first ?? SplitVirtqueue()
            state.isActive = state.queue.isReady
        }
    }

    public func processQueue(index: Int, memory: GuestMemory) throws(VirtqueueError) -> Bool {
        try state.withLock { (state) throws(VirtqueueError) -> Bool in
            guard state.isActive, index == 0 else { return false }
            var added = false
            var handled = 0
            drain: while handled < Self.maximumChainsPerNotification {
                while handled < Self.maximumChainsPerNotification,
                    let chain = try state.queue.popAvailable(memory: memory)
                {
                    let filled = Self.fill(chain, memory: memory)
                    try state.queue.addUsed(head: chain.headIndex, length: filled, memory: memory)
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

    public func reset() {
        state.withLock { state in
            state = State()
        }
    }

    /// Fills the chain's writable bytes from the start, straight in guest memory; returns how many were
    /// filled (fewer only if the host refused).
    private static func fill(_ chain: DescriptorChain, memory: GuestMemory) -> UInt32 {
        let length = min(chain.writableLength, UInt64(maximumBytesPerRequest))
        var filled = 0
        do {
            try chain.withBuffers(writable: true, offset: 0, length: length, memory: memory) { buffer in
                let count = HostEntropy.fill(buffer)
                filled += count
                guard count == buffer.count else { throw EntropyShortfall() }
            }
        } catch {
            // A short fill stops here; what was filled is still reported.
        }
        return UInt32(filled)
    }

    /// Stops `withBuffers` after a short fill.
    private struct EntropyShortfall: Error {}
}
