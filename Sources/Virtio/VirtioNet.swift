import GuestMemory

/// A virtio network device (virtio 1.2 §5.1) over a `NetworkBackend`: one receive queue (0) and one
/// transmit queue (1), no control queue.
///
/// Transmission runs on the thread that notifies the transmit queue (`NetworkTransmitter`); reception
/// on a thread the device starts at activation and stops at reset (`NetworkReceiver`). Checksum and
/// segmentation offloads are offered only when the backend carries virtio-net headers; those the driver
/// accepts for received frames are passed on to the backend (a tap's TUNSETOFFLOAD).
public final class VirtioNet: VirtioDevice {
    /// Virtio device ID of a network device (§5).
    public static let networkDeviceID: UInt32 = 1
    /// Queue Size offered to the driver for both queues.
    public static let queueSize: UInt16 = 256
    /// Largest frame after the header, either way: a 64 KiB segmentation-offload packet plus an Ethernet
    /// header with one VLAN tag.
    public static let maximumFrameLength = 65536 + 18
    static let receiveQueueIndex = 0
    static let transmitQueueIndex = 1

    public let deviceID: UInt32 = VirtioNet.networkDeviceID
    public let deviceFeatures: UInt64
    public let queueCount = 2
    public let maxQueueSize: UInt16 = VirtioNet.queueSize
    public let macAddress: MACAddress
    public let mtu: Int

    private let backend: any NetworkBackend
    private let configBytes: [UInt8]
    let receiver: NetworkReceiver
    let transmitter: NetworkTransmitter

    /// - Parameters:
    ///   - macAddress: the address the driver reads from `mac`; must be unicast.
    ///   - mtu: the MTU the driver reads from `mtu`, 68...65535 (match the host side's MTU).
    ///   - backend: where frames go and come from.
    ///   - memory: guest RAM, for the receive thread to write frames into.
    public init(macAddress: MACAddress, mtu: Int = 1500, backend: any NetworkBackend, memory: GuestMemory)
        throws(VirtioNetError)
    {
        guard (68...65535).contains(mtu) else { throw .invalidMTU(mtu) }
        guard !macAddress.isMulticast else { throw .multicastMAC(macAddress) }
        do throws(SystemCallFailure) {
            receiver = try NetworkReceiver(backend: backend, memory: memory)
        } catch {
            throw .systemCall(name: error.name, errno: error.errno)
        }
        transmitter = NetworkTransmitter(backend: backend)
        self.macAddress = macAddress
        self.mtu = mtu
        self.backend = backend
        var features =
            VirtioFeature.version1 | VirtioFeature.eventIndex | VirtioFeature.indirectDescriptors
            | VirtioNetFeature.mac | VirtioNetFeature.mtu | VirtioNetFeature.status
            | VirtioNetFeature.mergeableReceiveBuffers
        if backend.hasVnetHeader {
            features |=
                VirtioNetFeature.checksum | VirtioNetFeature.guestChecksum
                | VirtioNetFeature.hostTSO4 | VirtioNetFeature.hostTSO6 | VirtioNetFeature.hostECN
                | VirtioNetFeature.guestTSO4 | VirtioNetFeature.guestTSO6 | VirtioNetFeature.guestECN
        }
        deviceFeatures = features
        configBytes = VirtioNetConfig(mac: macAddress, mtu: UInt16(mtu)).encoded()
    }

    deinit {
        receiver.stop()
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

    /// Every field is read-only for a virtio 1.x driver (`mac` is writable only through the control queue
    /// or the legacy interface, neither offered).
    public func writeConfig(offset: UInt64, size: Int, value: UInt64) {}

    public func activate(features: UInt64, queues: [SplitVirtqueue], interrupt: VirtioInterrupt) {
        let offloads = backend.hasVnetHeader ? Self.guestOffloads(features) : []
        if backend.hasVnetHeader {
            // A backend that refuses keeps delivering plain frames, which every driver takes.
            try? backend.setOffloads(offloads)
        }
        if queues.count > Self.transmitQueueIndex {
            transmitter.start(queue: queues[Self.transmitQueueIndex])
        }
        if queues.count > Self.receiveQueueIndex {
            receiver.start(
                queue: queues[Self.receiveQueueIndex],
                mergeable: features & VirtioNetFeature.mergeableReceiveBuffers != 0, offloads: offloads,
                interrupt: interrupt)
        }
    }

    /// The receive queue's notification means new buffers: it wakes the receive thread, which raises its
    /// own interrupts. The transmit queue is processed here.
    public func processQueue(index: Int, memory: GuestMemory) throws(VirtqueueError) -> Bool {
        switch index {
        case Self.receiveQueueIndex:
            receiver.buffersAdded()
            return false
        case Self.transmitQueueIndex:
            return try transmitter.process(memory: memory)
        default:
            return false
        }
    }

    /// Stops the receive thread (see `NetworkReceiver` for why this cannot deadlock with the transport)
    /// and waits for a transmission in progress.
    public func reset() {
        receiver.stop()
        transmitter.stop()
    }

    /// The offloads the driver accepts in received frames (§5.1.3.1: segmentation only with GUEST_CSUM,
    /// ECN only with a segmentation kind).
    static func guestOffloads(_ features: UInt64) -> NetworkOffloads {
        guard features & VirtioNetFeature.guestChecksum != 0 else { return [] }
        var offloads: NetworkOffloads = .checksum
        if features & VirtioNetFeature.guestTSO4 != 0 { offloads.insert(.tcp4Segmentation) }
        if features & VirtioNetFeature.guestTSO6 != 0 { offloads.insert(.tcp6Segmentation) }
        if features & VirtioNetFeature.guestECN != 0,
            !offloads.isDisjoint(with: [.tcp4Segmentation, .tcp6Segmentation])
        {
            offloads.insert(.segmentationECN)
        }
        return offloads
    }
}
