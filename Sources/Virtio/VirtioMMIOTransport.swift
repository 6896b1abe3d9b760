import Devices
import GuestMemory
import Synchronization

/// The virtio-mmio transport, version 2 ("modern", virtio 1.2 §4.2.2), exposing one `VirtioDevice` as a
/// `BusDevice` of `rangeLength` bytes. Linux finds it from `virtio_mmio.device=4K@0xBASE:IRQ` on the kernel
/// command line (or a device-tree / ACPI node).
///
/// - Registers 0x000–0x0FF take only 32-bit aligned accesses (§4.2.2.2: the driver MUST use them); other
///   widths read 0 and are ignored. Device config from 0x100 takes any width.
/// - QueueNotify processes the queue inline on the calling vCPU thread (`notifyQueue`).
/// - The interrupt line is level-triggered: high while InterruptStatus is not 0. `interruptLine(level)`
///   is called only on changes, in order, under a small lock of its own; it must not call back into this
///   transport (KVM_IRQ_LINE is fine).
/// - A queue error never traps: the device is marked DEVICE_NEEDS_RESET, a configuration change interrupt
///   is raised, and no queue is processed until the driver resets the device.
///
/// Locking: register state sits behind a mutex. Status writes call the device's `reset`/`activate` with
/// that mutex held (the device must not call back into the transport); queue processing runs without it.
public final class VirtioMMIOTransport: BusDevice {
    /// The register window: 4 KiB, as in the `virtio_mmio.device=4K@...` command-line form.
    public static let rangeLength: UInt64 = 0x1000
    /// VendorID register: "SWFT" in little-endian ASCII (any value is allowed, §4.2.2).
    public static let vendorID: UInt32 = 0x5446_5753
    /// QueueNotify's offset, for an ioeventfd that takes the driver's notifications.
    public static let queueNotifyOffset: UInt64 = VirtioMMIORegister.queueNotify

    private let device: any VirtioDevice
    private let memory: GuestMemory
    private let interruptLine: @Sendable (Bool) -> Void
    private let state: Mutex<VirtioMMIOState>
    /// The level last passed to `interruptLine`; its lock orders deliveries.
    private let deliveredInterruptLevel = Mutex(false)
    private let deviceFeatures: UInt64
    private let maxQueueSize: UInt16

    /// - Parameters:
    ///   - device: the device model behind the transport.
    ///   - memory: guest RAM the device's queues live in.
    ///   - interruptLine: sets the level of the device's interrupt; called only on changes, initially low.
    public init(
        device: any VirtioDevice, memory: GuestMemory, interruptLine: @escaping @Sendable (Bool) -> Void
    ) {
        self.device = device
        self.memory = memory
        self.interruptLine = interruptLine
        deviceFeatures = device.deviceFeatures
        maxQueueSize = SplitVirtqueue.isValidSize(device.maxQueueSize) ? device.maxQueueSize : 0
        state = Mutex(VirtioMMIOState(queueCount: device.queueCount))
    }

    /// The device status register (§2.1), e.g. to see DEVICE_NEEDS_RESET.
    public var deviceStatus: UInt32 {
        state.withLock { $0.status }
    }

    /// The queue error that made the device need a reset, if any; cleared by a reset.
    public var queueError: VirtqueueError? {
        state.withLock { $0.queueError }
    }

    public func read(offset: UInt64, size: Int) -> UInt64 {
        if offset >= VirtioMMIORegister.config {
            return device.readConfig(offset: offset - VirtioMMIORegister.config, size: size)
        }
        guard size == 4, offset % 4 == 0 else { return 0 }
        return UInt64(state.withLock { readRegister(offset, $0) })
    }

    public func write(offset: UInt64, size: Int, value: UInt64) {
        if offset >= VirtioMMIORegister.config {
            device.writeConfig(offset: offset - VirtioMMIORegister.config, size: size, value: value)
            return
        }
        guard size == 4, offset % 4 == 0 else { return }
        let value32 = UInt32(truncatingIfNeeded: value)
        if offset == VirtioMMIORegister.queueNotify {
            // §4.2.2: without VIRTIO_F_NOTIFICATION_DATA the value is the queue index.
            notifyQueue(Int(value32 & 0xFFFF))
            return
        }
        let (levelChanged, stillPending) = state.withLock { state in
            let before = state.interruptLevel
            writeRegister(offset, value32, &state)
            return (before != state.interruptLevel, state.interruptLevel)
        }
        if offset == VirtioMMIORegister.interruptAcknowledge, stillPending {
            // The driver acknowledged only what it saw; a cause raised meanwhile needs a fresh edge,
            // or an edge-triggered pin would never report it.
            redeliverInterrupt()
        } else if levelChanged {
            deliverInterruptLevel()
        }
    }

    /// Processes queue `index` on the calling thread, as a QueueNotify write does, then raises the
    /// used-buffer interrupt if the device asks for one. Ignored unless the driver set DRIVER_OK and the
    /// queue is ready. An ioeventfd handler can call this from an I/O thread instead.
    public func notifyQueue(_ index: Int) {
        let epoch: UInt64? = state.withLock { state in
            guard state.isLive, index >= 0, index < state.queues.count, state.queues[index].isReady else {
                return nil
            }
            return state.epoch
        }
        guard let epoch else { return }
        let outcome: Result<Bool, VirtqueueError>
        do {
            outcome = .success(try device.processQueue(index: index, memory: memory))
        } catch {
            outcome = .failure(error)
        }
        let levelChanged = state.withLock { state in
            guard state.epoch == epoch else { return false }
            let before = state.interruptLevel
            switch outcome {
            case .success(true): state.interruptStatus |= VirtioMMIORegister.usedBufferInterrupt
            case .success(false): break
            case .failure(let error): state.markNeedsReset(error)
            }
            return before != state.interruptLevel
        }
        if levelChanged { deliverInterruptLevel() }
    }

    /// Tells the driver the device configuration changed (e.g. a resized disk): bumps ConfigGeneration
    /// and raises the configuration change interrupt once the driver is running (§4.2.2, §2.5.1).
    public func configurationChanged() {
        let levelChanged = state.withLock { state in
            let before = state.interruptLevel
            state.configGeneration &+= 1
            if state.status & VirtioDeviceStatus.driverOK != 0 {
                state.interruptStatus |= VirtioMMIORegister.configChangeInterrupt
            }
            return before != state.interruptLevel
        }
        if levelChanged { deliverInterruptLevel() }
    }

    // MARK: - Registers (§4.2.2, Table 4.1)

    private func readRegister(_ offset: UInt64, _ state: borrowing VirtioMMIOState) -> UInt32 {
        let queue = state.selectedQueueIndex.map { state.queues[$0] }
        switch offset {
        case VirtioMMIORegister.magicValue: return VirtioMMIORegister.magic
        case VirtioMMIORegister.version: return VirtioMMIORegister.modernVersion
        case VirtioMMIORegister.deviceID: return device.deviceID
        case VirtioMMIORegister.vendorID: return Self.vendorID
        case VirtioMMIORegister.deviceFeatures:
            switch state.deviceFeaturesSelect {
            case 0: return UInt32(truncatingIfNeeded: deviceFeatures)
            case 1: return UInt32(truncatingIfNeeded: deviceFeatures >> 32)
            default: return 0
            }
        case VirtioMMIORegister.queueSizeMaximum: return queue == nil ? 0 : UInt32(maxQueueSize)
        case VirtioMMIORegister.queueSize: return UInt32(queue?.size ?? 0)
        case VirtioMMIORegister.queueReady: return queue?.isReady == true ? 1 : 0
        case VirtioMMIORegister.interruptStatus: return state.interruptStatus
        case VirtioMMIORegister.status: return state.status
        case VirtioMMIORegister.queueDescriptorLow: return low(queue?.descriptorTable)
        case VirtioMMIORegister.queueDescriptorHigh: return high(queue?.descriptorTable)
        case VirtioMMIORegister.queueDriverLow: return low(queue?.driverRing)
        case VirtioMMIORegister.queueDriverHigh: return high(queue?.driverRing)
        case VirtioMMIORegister.queueDeviceLow: return low(queue?.deviceRing)
        case VirtioMMIORegister.queueDeviceHigh: return high(queue?.deviceRing)
        case VirtioMMIORegister.configGeneration: return state.configGeneration
        case VirtioMMIORegister.sharedMemoryLengthLow...VirtioMMIORegister.sharedMemoryBaseHigh:
            // §4.2.2: a region that does not exist reads a length (and base) of -1.
            return UInt32.max
        default: return 0
        }
    }

    private func writeRegister(_ offset: UInt64, _ value: UInt32, _ state: inout VirtioMMIOState) {
        switch offset {
        case VirtioMMIORegister.deviceFeaturesSelect:
            state.deviceFeaturesSelect = value
        case VirtioMMIORegister.driverFeaturesSelect:
            state.driverFeaturesSelect = value
        case VirtioMMIORegister.driverFeatures:
            // Features are fixed once FEATURES_OK is set (§3.1.1).
            guard state.status & VirtioDeviceStatus.featuresOK == 0 else { return }
            switch state.driverFeaturesSelect {
            case 0: state.driverFeatures = (state.driverFeatures & 0xFFFF_FFFF_0000_0000) | UInt64(value)
            case 1: state.driverFeatures = (state.driverFeatures & 0xFFFF_FFFF) | UInt64(value) << 32
            default: break
            }
        case VirtioMMIORegister.queueSelect:
            state.queueSelect = value
        case VirtioMMIORegister.queueSize, VirtioMMIORegister.queueDescriptorLow,
            VirtioMMIORegister.queueDescriptorHigh, VirtioMMIORegister.queueDriverLow,
            VirtioMMIORegister.queueDriverHigh, VirtioMMIORegister.queueDeviceLow,
            VirtioMMIORegister.queueDeviceHigh:
            // A ready queue's setup is fixed until it is reset (§4.2.2.3).
            guard let index = state.selectedQueueIndex, !state.queues[index].isReady else { return }
            writeQueueSetup(offset, value, &state.queues[index])
        case VirtioMMIORegister.queueReady:
            guard let index = state.selectedQueueIndex else { return }
            state.queues[index].isReady = value & 1 != 0
        case VirtioMMIORegister.interruptAcknowledge:
            state.interruptStatus &= ~value
        case VirtioMMIORegister.status:
            writeStatus(value, &state)
        default:
            break
        }
    }

    private func writeQueueSetup(_ offset: UInt64, _ value: UInt32, _ queue: inout SplitVirtqueue) {
        switch offset {
        case VirtioMMIORegister.queueSize: queue.size = UInt16(truncatingIfNeeded: value)
        case VirtioMMIORegister.queueDescriptorLow: queue.descriptorTable = setLow(queue.descriptorTable, value)
        case VirtioMMIORegister.queueDescriptorHigh: queue.descriptorTable = setHigh(queue.descriptorTable, value)
        case VirtioMMIORegister.queueDriverLow: queue.driverRing = setLow(queue.driverRing, value)
        case VirtioMMIORegister.queueDriverHigh: queue.driverRing = setHigh(queue.driverRing, value)
        case VirtioMMIORegister.queueDeviceLow: queue.deviceRing = setLow(queue.deviceRing, value)
        case VirtioMMIORegister.queueDeviceHigh: queue.deviceRing = setHigh(queue.deviceRing, value)
        default: break
        }
    }

    /// The device status state machine (§2.1, §3.1.1).
    private func writeStatus(_ value: UInt32, _ state: inout VirtioMMIOState) {
        if value == 0 {
            device.reset()
            state.reset()
            return
        }
        var status = value | (state.status & VirtioDeviceStatus.deviceNeedsReset)
        let newlySet = status & ~state.status
        if newlySet & VirtioDeviceStatus.featuresOK != 0, !acceptsDriverFeatures(state.driverFeatures) {
            // Refused: the driver reads FEATURES_OK back as clear (§3.1.1 step 6).
            status &= ~VirtioDeviceStatus.featuresOK
        }
        if newlySet & VirtioDeviceStatus.driverOK != 0 {
            guard status & VirtioDeviceStatus.featuresOK != 0 else {
                status &= ~VirtioDeviceStatus.driverOK
                state.status = status
                return
            }
            state.status = status
            activate(&state)
            return
        }
        state.status = status
    }

    /// The driver may accept only features the device offered and must accept VERSION_1 (§6.1).
    private func acceptsDriverFeatures(_ features: UInt64) -> Bool {
        features & ~deviceFeatures == 0 && features & VirtioFeature.version1 != 0
    }

    /// DRIVER_OK: validates the ready queues and starts the device, or marks it needing reset.
    private func activate(_ state: inout VirtioMMIOState) {
        var queues = state.queues
        let eventIndex = state.driverFeatures & VirtioFeature.eventIndex != 0
        for index in queues.indices where queues[index].isReady {
            queues[index].eventIndexEnabled = eventIndex
            do throws(VirtqueueError) {
                guard queues[index].size <= maxQueueSize else {
                    throw .invalidQueueSize(queues[index].size)
                }
                try queues[index].validate(memory: memory)
            } catch {
                state.markNeedsReset(error)
                return
            }
        }
        state.queues = queues
        device.activate(features: state.driverFeatures, queues: queues, interrupt: interruptHandle(epoch: state.epoch))
    }

    /// The handle a device uses from its own threads; it does nothing once `epoch` is over (a reset).
    private func interruptHandle(epoch: UInt64) -> VirtioInterrupt {
        VirtioInterrupt(
            usedBuffers: { [weak self] _ in self?.raiseFromDevice(epoch: epoch, error: nil) },
            queueError: { [weak self] error in self?.raiseFromDevice(epoch: epoch, error: error) })
    }

    private func raiseFromDevice(epoch: UInt64, error: VirtqueueError?) {
        let levelChanged = state.withLock { state in
            guard state.epoch == epoch, state.isLive else { return false }
            let before = state.interruptLevel
            if let error {
                state.markNeedsReset(error)
            } else {
                state.interruptStatus |= VirtioMMIORegister.usedBufferInterrupt
            }
            return before != state.interruptLevel
        }
        if levelChanged { deliverInterruptLevel() }
    }

    /// Brings the external line to the current InterruptStatus level; see Serial16550 for why the level
    /// is read under the delivery lock.
    private func deliverInterruptLevel() {
        deliveredInterruptLevel.withLock { delivered in
            let level = state.withLock { $0.interruptLevel }
            guard level != delivered else { return }
            delivered = level
            interruptLine(level)
        }
    }

    /// Drops and raises the line again while an interrupt stays pending across an acknowledge.
    private func redeliverInterrupt() {
        deliveredInterruptLevel.withLock { delivered in
            guard state.withLock({ $0.interruptLevel }) else { return }
            if delivered { interruptLine(false) }
            interruptLine(true)
            delivered = true
        }
    }

    private func low(_ address: GuestAddress?) -> UInt32 {
        UInt32(truncatingIfNeeded: address?.rawValue ?? 0)
    }

    private func high(_ address: GuestAddress?) -> UInt32 {
        UInt32(truncatingIfNeeded: (address?.rawValue ?? 0) >> 32)
    }

    private func setLow(_ address: GuestAddress, _ value: UInt32) -> GuestAddress {
        GuestAddress((address.rawValue & 0xFFFF_FFFF_0000_0000) | UInt64(value))
    }

    private func setHigh(_ address: GuestAddress, _ value: UInt32) -> GuestAddress {
        GuestAddress((address.rawValue & 0xFFFF_FFFF) | UInt64(value) << 32)
    }
}
