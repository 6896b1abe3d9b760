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
///   is called only on changes (and for a fresh edge when an acknowledgement leaves a cause pending),
///   with the transport's lock held: it must be quick and must not call back into this transport (an
///   irqfd write or KVM_IRQ_LINE).
/// - A queue error never traps: the device is marked DEVICE_NEEDS_RESET, a configuration change interrupt
///   is raised, and no queue is processed until the driver resets the device.
///
/// Locking: see `VirtioTransport`; the status machine, activation and notification are shared with
/// virtio-pci there.
public final class VirtioMMIOTransport: BusDevice, VirtioTransport {
    /// The register window: 4 KiB, as in the `virtio_mmio.device=4K@...` command-line form.
    public static let rangeLength: UInt64 = 0x1000
    /// VendorID register: "SWFT" in little-endian ASCII (any value is allowed, §4.2.2).
    public static let vendorID: UInt32 = 0x5446_5753
    /// QueueNotify's offset, for an ioeventfd that takes the driver's notifications.
    public static let queueNotifyOffset: UInt64 = VirtioMMIORegister.queueNotify

    let core: VirtioTransportCore<VirtioMMIOState>

    /// - Parameters:
    ///   - device: the device model behind the transport.
    ///   - memory: guest RAM the device's queues live in.
    ///   - interruptLine: sets the level of the device's interrupt; called only on changes, initially low.
    public init(
        device: any VirtioDevice, memory: GuestMemory, interruptLine: @escaping @Sendable (Bool) -> Void
    ) {
        core = VirtioTransportCore(
            device: device, memory: memory, queueCount: device.queueCount, queueSizeAfterReset: 0,
            specific: VirtioMMIOState(line: interruptLine))
    }

    /// The device status register (§2.1), e.g. to see DEVICE_NEEDS_RESET.
    public var deviceStatus: UInt32 {
        core.withState { $0.status }
    }

    /// The queue error that made the device need a reset, if any; cleared by a reset.
    public var queueError: VirtqueueError? {
        core.withState { $0.queueError }
    }

    public func read(offset: UInt64, size: Int) -> UInt64 {
        if offset >= VirtioMMIORegister.config {
            return core.device.readConfig(offset: offset - VirtioMMIORegister.config, size: size)
        }
        guard size == 4, offset % 4 == 0 else { return 0 }
        return UInt64(core.withState { readRegister(offset, $0) })
    }

    public func write(offset: UInt64, size: Int, value: UInt64) {
        if offset >= VirtioMMIORegister.config {
            core.device.writeConfig(offset: offset - VirtioMMIORegister.config, size: size, value: value)
            return
        }
        guard size == 4, offset % 4 == 0 else { return }
        let value32 = UInt32(truncatingIfNeeded: value)
        if offset == VirtioMMIORegister.queueNotify {
            // §4.2.2: without VIRTIO_F_NOTIFICATION_DATA the value is the queue index.
            notifyQueue(Int(value32 & 0xFFFF))
            return
        }
        core.withState { state in writeRegister(offset, value32, &state) }
    }

    /// Processes queue `index` on the calling thread, as a QueueNotify write does, then raises the
    /// used-buffer interrupt if the device asks for one. Ignored unless the driver set DRIVER_OK and the
    /// queue is ready. An ioeventfd handler can call this from an I/O thread instead.
    public func notifyQueue(_ index: Int) {
        processNotification(queue: index)
    }

    /// Tells the driver the device configuration changed (e.g. a resized disk): bumps ConfigGeneration
    /// and raises the configuration change interrupt once the driver is running (§4.2.2, §2.5.1).
    public func configurationChanged() {
        signalConfigurationChange()
    }

    /// Nothing is left to deliver after the lock: the line follows InterruptStatus inside it.
    func deliver(_ delivery: Never) {}

    // MARK: - Registers (§4.2.2, Table 4.1)

    private func readRegister(_ offset: UInt64, _ state: borrowing VirtioTransportState<VirtioMMIOState>) -> UInt32 {
        let queue = state.selectedQueueIndex.map { state.queues[$0] }
        switch offset {
        case VirtioMMIORegister.magicValue: return VirtioMMIORegister.magic
        case VirtioMMIORegister.version: return VirtioMMIORegister.modernVersion
        case VirtioMMIORegister.deviceID: return core.device.deviceID
        case VirtioMMIORegister.vendorID: return Self.vendorID
        case VirtioMMIORegister.deviceFeatures: return state.deviceFeatureWindow(core.deviceFeatures)
        case VirtioMMIORegister.queueSizeMaximum: return queue == nil ? 0 : UInt32(core.maxQueueSize)
        case VirtioMMIORegister.queueSize: return UInt32(queue?.size ?? 0)
        case VirtioMMIORegister.queueReady: return queue?.isReady == true ? 1 : 0
        case VirtioMMIORegister.interruptStatus: return state.specific.interruptStatus
        case VirtioMMIORegister.status: return state.status
        case VirtioMMIORegister.queueDescriptorLow: return queue?.descriptorTable.low32 ?? 0
        case VirtioMMIORegister.queueDescriptorHigh: return queue?.descriptorTable.high32 ?? 0
        case VirtioMMIORegister.queueDriverLow: return queue?.driverRing.low32 ?? 0
        case VirtioMMIORegister.queueDriverHigh: return queue?.driverRing.high32 ?? 0
        case VirtioMMIORegister.queueDeviceLow: return queue?.deviceRing.low32 ?? 0
        case VirtioMMIORegister.queueDeviceHigh: return queue?.deviceRing.high32 ?? 0
        case VirtioMMIORegister.configGeneration: return state.configGeneration
        case VirtioMMIORegister.sharedMemoryLengthLow...VirtioMMIORegister.sharedMemoryBaseHigh:
            // §4.2.2: a region that does not exist reads a length (and base) of -1.
            return UInt32.max
        default: return 0
        }
    }

    private func writeRegister(
        _ offset: UInt64, _ value: UInt32, _ state: inout VirtioTransportState<VirtioMMIOState>
    ) {
        switch offset {
        case VirtioMMIORegister.deviceFeaturesSelect:
            state.deviceFeaturesSelect = value
        case VirtioMMIORegister.driverFeaturesSelect:
            state.driverFeaturesSelect = value
        case VirtioMMIORegister.driverFeatures:
            state.writeDriverFeatureWindow(value)
        case VirtioMMIORegister.queueSelect:
            state.queueSelect = value
        case VirtioMMIORegister.queueSize, VirtioMMIORegister.queueDescriptorLow,
            VirtioMMIORegister.queueDescriptorHigh, VirtioMMIORegister.queueDriverLow,
            VirtioMMIORegister.queueDriverHigh, VirtioMMIORegister.queueDeviceLow,
            VirtioMMIORegister.queueDeviceHigh:
            state.setUpSelectedQueue { Self.writeQueueSetup(offset, value, &$0) }
        case VirtioMMIORegister.queueReady:
            guard let index = state.selectedQueueIndex else { return }
            state.queues[index].isReady = value & 1 != 0
        case VirtioMMIORegister.interruptAcknowledge:
            state.specific.acknowledge(value)
        case VirtioMMIORegister.status:
            // The line follows the new InterruptStatus as the lock is released.
            _ = writeStatus(value, &state)
        default:
            break
        }
    }

    private static func writeQueueSetup(_ offset: UInt64, _ value: UInt32, _ queue: inout SplitVirtqueue) {
        switch offset {
        case VirtioMMIORegister.queueSize: queue.size = UInt16(truncatingIfNeeded: value)
        case VirtioMMIORegister.queueDescriptorLow: queue.descriptorTable = queue.descriptorTable.replacingLow32(value)
        case VirtioMMIORegister.queueDescriptorHigh:
            queue.descriptorTable = queue.descriptorTable.replacingHigh32(value)
        case VirtioMMIORegister.queueDriverLow: queue.driverRing = queue.driverRing.replacingLow32(value)
        case VirtioMMIORegister.queueDriverHigh: queue.driverRing = queue.driverRing.replacingHigh32(value)
        case VirtioMMIORegister.queueDeviceLow: queue.deviceRing = queue.deviceRing.replacingLow32(value)
        case VirtioMMIORegister.queueDeviceHigh: queue.deviceRing = queue.deviceRing.replacingHigh32(value)
        default: break
        }
    }
}
