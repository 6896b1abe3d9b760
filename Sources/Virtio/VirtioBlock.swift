import GuestMemory
import Synchronization

/// A virtio block device (virtio 1.2 §5.2) over a `BlockBackend`, with one request queue.
///
/// Requests are performed synchronously on the thread that calls `processQueue` (the transport's notify
/// path), holding the device's lock: requests on the queue are serialized, and a reset waits for the
/// request in flight.
public final class VirtioBlock: VirtioDevice {
    /// Virtio device ID of a block device (§5).
    public static let blockDeviceID: UInt32 = 2
    /// Queue Size offered to the driver.
    public static let queueSize: UInt16 = 256
    /// Most sectors per discard / write-zeroes segment: 2 GiB.
    static let maximumRangeSectors: UInt32 = 1 << 22
    /// Most segments per discard / write-zeroes request.
    static let maximumRangeSegments: UInt32 = 16
    /// Most chains handled per `processQueue` call, so a guest refilling the ring from another vCPU
    /// cannot hold this thread forever.
    static let maximumChainsPerNotification = 65536

    public let deviceID: UInt32 = VirtioBlock.blockDeviceID
    public let deviceFeatures: UInt64
    public let queueCount = 1
    public let maxQueueSize: UInt16 = VirtioBlock.queueSize

    private let backend: any BlockBackend
    private let configBytes: [UInt8]
    private let state: Mutex<VirtioBlockState>
    private let initialLimits: BlockRequestLimits

    /// - Parameters:
    ///   - backend: the disk; its size is rounded down to whole 512-byte sectors.
    ///   - serial: the device ID GET_ID returns (Linux shows it in /sys/block/vda/serial); at most 20
    ///     bytes of its UTF-8 are used.
    public init(backend: any BlockBackend, serial: String = "") {
        self.backend = backend
        var features =
            VirtioFeature.version1 | VirtioFeature.eventIndex | VirtioFeature.indirectDescriptors
            | VirtioBlockFeature.segmentMaximum | VirtioBlockFeature.blockSize | VirtioBlockFeature.flush
        if backend.isReadOnly {
            features |= VirtioBlockFeature.readOnly
        } else {
            features |= VirtioBlockFeature.discard | VirtioBlockFeature.writeZeroes
        }
        deviceFeatures = features
        let capacity = backend.size >> BlockRequest.sectorShift
        configBytes = VirtioBlockConfig(
            capacity: capacity,
            // Two descriptors of a chain carry the header and the status (§5.2.4).
            segmentMaximum: UInt32(Self.queueSize) - 2,
            maximumDiscardSectors: Self.maximumRangeSectors, maximumDiscardSegments: Self.maximumRangeSegments,
            maximumWriteZeroesSectors: Self.maximumRangeSectors,
            maximumWriteZeroesSegments: Self.maximumRangeSegments
        ).encoded()
        var serialBytes = Array(serial.utf8.prefix(BlockRequest.idLength))
        serialBytes += [UInt8](repeating: 0, count: BlockRequest.idLength - serialBytes.count)
        initialLimits = BlockRequestLimits(
            capacity: capacity,
            maximumDiscardSectors: Self.maximumRangeSectors, maximumDiscardSegments: Self.maximumRangeSegments,
            maximumWriteZeroesSectors: Self.maximumRangeSectors,
            maximumWriteZeroesSegments: Self.maximumRangeSegments, serial: serialBytes)
        state = Mutex(VirtioBlockState(limits: initialLimits))
    }

    public func readConfig(offset: UInt64, size: Int) -> UInt64 {
        var value: UInt64 = 0
        for lane in 0..<min(max(size, 0), 8) {
            let (index, overflow) = offset.addingReportingOverflow(UInt64(lane))
            guard !overflow, index < UInt64(configBytes.count) else { continue }
            value |= UInt64(configBytes[Int(index)]) << UInt64(8 * lane)
        }
        return value
    }

    /// Every field this device offers is read-only (no VIRTIO_BLK_F_CONFIG_WCE).
    public func writeConfig(offset: UInt64, size: Int, value: UInt64) {}

    public func activate(features: UInt64, queues: [SplitVirtqueue], interrupt: VirtioInterrupt) {
        state.withLock { state in
            state.queues = queues
            state.limits.discardEnabled = features & VirtioBlockFeature.discard != 0
            state.limits.writeZeroesEnabled = features & VirtioBlockFeature.writeZeroes != 0
            state.isActive = true
        }
    }

    public func processQueue(index: Int, memory: GuestMemory) throws(VirtqueueError) -> Bool {
        try state.withLock { (state) throws(VirtqueueError) -> Bool in
            guard state.isActive, index >= 0, index < state.queues.count, state.queues[index].isReady else {
                return false
            }
            let limits = state.limits
            var added = false
            var handled = 0
            drain: while handled < Self.maximumChainsPerNotification {
                while handled < Self.maximumChainsPerNotification,
                    let chain = try state.queues[index].popAvailable(memory: memory)
                {
                    let used = BlockRequest.complete(chain, memory: memory, backend: backend, limits: limits)
                    try state.queues[index].addUsed(head: chain.headIndex, length: used, memory: memory)
                    added = true
                    handled += 1
                }
                // With EVENT_IDX, ask for the next notification, then look again for buffers the driver
                // added before it could see the request (§2.7.10).
                guard state.queues[index].eventIndexEnabled, handled < Self.maximumChainsPerNotification else {
                    break drain
                }
                try state.queues[index].setNotificationSuppression(false, memory: memory)
                guard try state.queues[index].hasAvailable(memory: memory) else { break drain }
            }
            guard added else { return false }
            return try state.queues[index].shouldInterrupt(memory: memory)
        }
    }

    public func reset() {
        state.withLock { state in
            state = VirtioBlockState(limits: initialLimits)
        }
    }
}
