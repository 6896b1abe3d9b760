import GuestMemory
import Synchronization

/// What a virtio transport shares with every other: the device, guest memory, and the driver-facing state
/// behind one lock. The lifecycle that works on it (status, activation, notification, interrupts from
/// device threads) is in `VirtioTransport`.
final class VirtioTransportCore<Specific: VirtioTransportSpecificState>: Sendable {
    let device: any VirtioDevice
    let memory: GuestMemory
    let deviceFeatures: UInt64
    /// The device's largest queue size, or 0 when it reports an invalid one (then no queue can start).
    let maxQueueSize: UInt16
    /// Reached only through `withState`, so the interrupt line always follows the state.
    private let state: Mutex<VirtioTransportState<Specific>>

    /// - Parameters:
    ///   - queueCount: the queues the driver sees (a transport may expose fewer than the device has).
    ///   - queueSizeAfterReset: see `VirtioTransportState.queueSizeAfterReset`; `nil` for the maximum.
    init(
        device: any VirtioDevice, memory: GuestMemory, queueCount: Int, queueSizeAfterReset: UInt16?,
        specific: Specific
    ) {
        self.device = device
        self.memory = memory
        deviceFeatures = device.deviceFeatures
        let maxQueueSize = SplitVirtqueue.isValidSize(device.maxQueueSize) ? device.maxQueueSize : 0
        self.maxQueueSize = maxQueueSize
        state = Mutex(
            VirtioTransportState(
                queueCount: queueCount, queueSizeAfterReset: queueSizeAfterReset ?? maxQueueSize,
                specific: specific))
    }

    /// Runs `body` on the state under the lock, then, still under it, brings the interrupt line to the
    /// level the state now asks for (see `LatchedInterruptLine` for why both happen in one critical section).
    func withState<Result: Sendable, Failure: Error>(
        _ body: (inout VirtioTransportState<Specific>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try state.withLock { (state) throws(Failure) -> Result in
            defer { state.specific.settleInterruptLine() }
            return try body(&state)
        }
    }

    /// The driver may accept only features the device offered and must accept VERSION_1 (§6.1).
    func acceptsDriverFeatures(_ features: UInt64) -> Bool {
        features & ~deviceFeatures == 0 && features & VirtioFeature.version1 != 0
    }

    /// Whether queue `queue` may start: a valid size no larger than the device's maximum, and its three
    /// parts aligned inside guest RAM (§2.7).
    func validate(_ queue: SplitVirtqueue) throws(VirtqueueError) {
        guard queue.size <= maxQueueSize else { throw .invalidQueueSize(queue.size) }
        try queue.validate(memory: memory)
    }
}

/// A virtio transport (virtio-mmio, virtio-pci) built on a `VirtioTransportCore`: it maps its registers
/// onto the core's state and delivers interrupts its own way; the lifecycle below is common.
///
/// Locking: the core's state sits behind its mutex (`withState`). Status writes call the device's `reset`/`activate` with
/// that mutex held (the device must not call back into the transport then); queue processing runs without.
protocol VirtioTransport: AnyObject, Sendable {
    associatedtype Specific: VirtioTransportSpecificState
    var core: VirtioTransportCore<Specific> { get }
    /// Delivers, with the lock released, what `Specific.raise` asked for.
    func deliver(_ delivery: Specific.Delivery)
}

extension VirtioTransport {
    /// The device status state machine (§2.1, §3.1.1), under the lock: 0 resets the device and the
    /// transport; FEATURES_OK is refused for features the device cannot take; DRIVER_OK validates the
    /// ready queues and activates the device (or marks it DEVICE_NEEDS_RESET). DEVICE_NEEDS_RESET stays
    /// until reset.
    func writeStatus(_ value: UInt32, _ state: inout VirtioTransportState<Specific>) -> Specific.Delivery? {
        if value == 0 {
            core.device.reset()
            state.reset()
            return nil
        }
        var status = value | (state.status & VirtioDeviceStatus.deviceNeedsReset)
        let newlySet = status & ~state.status
        if newlySet & VirtioDeviceStatus.featuresOK != 0, !core.acceptsDriverFeatures(state.driverFeatures) {
            // Refused: the driver reads FEATURES_OK back as clear (§3.1.1 step 6).
            status &= ~VirtioDeviceStatus.featuresOK
        }
        if newlySet & VirtioDeviceStatus.driverOK != 0, status & VirtioDeviceStatus.featuresOK == 0 {
            status &= ~VirtioDeviceStatus.driverOK
            state.status = status
            return nil
        }
        state.status = status
        guard newlySet & VirtioDeviceStatus.driverOK != 0 else { return nil }
        return activate(&state)
    }

    /// DRIVER_OK: validates the ready queues and starts the device, or marks it needing reset.
    private func activate(_ state: inout VirtioTransportState<Specific>) -> Specific.Delivery? {
        var queues = state.queues
        let eventIndex = state.driverFeatures & VirtioFeature.eventIndex != 0
        for index in queues.indices where queues[index].isReady {
            queues[index].eventIndexEnabled = eventIndex
            do throws(VirtqueueError) {
                try core.validate(queues[index])
            } catch {
                return state.markNeedsReset(error)
            }
        }
        state.queues = queues
        core.device.activate(
            features: state.driverFeatures, queues: queues, interrupt: interruptHandle(epoch: state.epoch))
        return nil
    }

    /// Processes queue `index` on the calling thread, then raises its used-buffer interrupt if the device
    /// asks for one. Ignored unless the driver set DRIVER_OK and the queue is ready.
    func processNotification(queue index: Int) {
        let epoch: UInt64? = core.withState { state in
            guard state.isLive, index >= 0, index < state.queues.count, state.queues[index].isReady else {
                return nil
            }
            return state.epoch
        }
        guard let epoch else { return }
        let outcome: Result<Bool, VirtqueueError>
        do {
            outcome = .success(try core.device.processQueue(index: index, memory: core.memory))
        } catch {
            outcome = .failure(error)
        }
        let delivery = core.withState { state -> Specific.Delivery? in
            guard state.epoch == epoch else { return nil }
            switch outcome {
            case .success(true): return state.specific.raise(.usedBuffers(queue: index))
            case .success(false): return nil
            case .failure(let error): return state.markNeedsReset(error)
            }
        }
        if let delivery { deliver(delivery) }
    }

    /// Tells the driver the device configuration changed (a resized disk): a new configuration
    /// generation, and the configuration change interrupt once the driver is running (§2.5.1).
    func signalConfigurationChange() {
        if let delivery = core.withState({ $0.configurationChanged() }) { deliver(delivery) }
    }

    /// The handle a device uses from its own threads; it does nothing once `epoch` is over (a reset).
    private func interruptHandle(epoch: UInt64) -> VirtioInterrupt {
        VirtioInterrupt(
            usedBuffers: { [weak self] queue in self?.raiseFromDevice(epoch: epoch, queue: queue, error: nil) },
            queueError: { [weak self] error in self?.raiseFromDevice(epoch: epoch, queue: nil, error: error) })
    }

    private func raiseFromDevice(epoch: UInt64, queue: Int?, error: VirtqueueError?) {
        let delivery = core.withState { state -> Specific.Delivery? in
            guard state.epoch == epoch, state.isLive else { return nil }
            if let error { return state.markNeedsReset(error) }
            guard let queue, queue >= 0, queue < state.queues.count else { return nil }
            return state.specific.raise(.usedBuffers(queue: queue))
        }
        if let delivery { deliver(delivery) }
    }
}
