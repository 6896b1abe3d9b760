import Devices
import GuestMemory
import Synchronization

/// One virtio device as a modern virtio-pci function (virtio 1.2 §4.1): a type 0 configuration header with
/// virtio's capabilities and MSI-X, and the virtio structures in one 64-bit memory BAR (layout in
/// `VirtioPCILayout`).
///
/// - Configuration space: `readConfig`/`writeConfig` from the host bridge (0xCF8/0xCFC or ECAM). Accesses
///   of 1, 2 or 4 bytes within one dword of the 256-byte space are served; others read 0 and are ignored.
/// - BAR 0 is fixed at `barAddress`: the guest can size it (write all ones, read the mask, write the
///   address back), but another address reads back as `barAddress` and moves nothing. The VMM describes
///   the BAR in the host bridge's ACPI resources, so Linux keeps it where it is.
/// - Notifications: each queue has its own 4-byte slot (`notifyOffset(queue:)`) for an ioeventfd; a
///   write there processes the queue on the calling thread (`notifyQueue`).
/// - Interrupts: with MSI-X enabled, the queue's or msix_config's vector is sent through `signalMSI`
///   (masked vectors set their pending bit and are sent when unmasked). Without MSI-X, the ISR and the
///   level-triggered INTA# line (`interruptLine`, called only on changes).
/// - The guest is hostile: no access traps; wrong widths, bad vectors and out-of-order writes are ignored.
///
/// Locking: see `VirtioTransport`. `signalMSI` is called without the state lock, `interruptLine` with it
/// (so INTx changes in step with the ISR); neither may call back into the function.
public final class VirtioPCIFunction: VirtioTransport, PCIFunction {
    /// Size of BAR 0, a power of two; `barAddress` must be aligned to it.
    public static let barLength: UInt64 = VirtioPCILayout.barLength
    /// Queues beyond this many are not shown to the driver (the MSI-X table holds one vector per queue).
    public static let maximumQueueCount = VirtioPCILayout.maximumQueueCount

    /// Where BAR 0 is in guest physical memory.
    public let barAddress: UInt64
    let core: VirtioTransportCore<VirtioPCIState>
    /// The read-only configuration space; `configDword` overlays the writable registers.
    private let configImage: [UInt8]
    private let queueCount: Int
    private let signalMSI: @Sendable (_ address: UInt64, _ data: UInt32) -> Void

    /// - Parameters:
    ///   - device: the device model behind the function.
    ///   - memory: guest RAM the device's queues live in.
    ///   - barAddress: BAR 0's guest physical address, aligned to `barLength`.
    ///   - signalMSI: sends an MSI-X message (KVM_SIGNAL_MSI).
    ///   - interruptLine: the level of INTA#, for drivers without MSI-X; called only on changes.
    public init(
        device: any VirtioDevice, memory: GuestMemory, barAddress: UInt64,
        signalMSI: @escaping @Sendable (_ address: UInt64, _ data: UInt32) -> Void,
        interruptLine: @escaping @Sendable (Bool) -> Void = { _ in }
    ) {
        precondition(barAddress % Self.barLength == 0, "BAR 0 must be aligned to its length")
        self.barAddress = barAddress
        queueCount = min(max(device.queueCount, 0), Self.maximumQueueCount)
        core = VirtioTransportCore(
            device: device, memory: memory, queueCount: queueCount, queueSizeAfterReset: nil,
            specific: VirtioPCIState(queueCount: queueCount, interruptLine: interruptLine))
        configImage = VirtioPCIConfigSpace.image(deviceID: device.deviceID, queueCount: queueCount)
        self.signalMSI = signalMSI
    }

    /// The BAR 0 region, for the MMIO bus at `barAddress` with length `barLength`.
    public var barRegion: any BusDevice {
        VirtioPCIBARRegion(function: self)
    }

    /// The device status (§2.1), e.g. to see DEVICE_NEEDS_RESET.
    public var deviceStatus: UInt32 {
        core.withState { $0.status }
    }

    /// The queue error that made the device need a reset, if any; cleared by a reset.
    public var queueError: VirtqueueError? {
        core.withState { $0.queueError }
    }

    /// Offset in BAR 0 of queue `queue`'s notification address, where the driver writes the queue index
    /// (16 bits) and an ioeventfd can listen.
    /// A queue the driver cannot see (beyond `maximumQueueCount`) gets an offset past the notify structure,
    /// where writes are ignored.
    public func notifyOffset(queue: Int) -> UInt64 {
        VirtioPCILayout.notify + UInt64(min(max(queue, 0), queueCount)) * VirtioPCILayout.notifyOffsetMultiplier
    }

    /// Processes queue `index` on the calling thread, then raises its interrupt if the device asks for one.
    /// Ignored unless the driver set DRIVER_OK and enabled the queue. For an ioeventfd handler.
    public func notifyQueue(_ index: Int) {
        processNotification(queue: index)
    }

    /// Tells the driver the device configuration changed: config_generation moves on and, once the
    /// driver is running, msix_config's vector (or the ISR and INTx) is raised (§4.1.4.3, §4.1.4.5).
    public func configurationChanged() {
        signalConfigurationChange()
    }

    func deliver(_ message: MSIXMessage) {
        signalMSI(message.address, message.data)
    }

    private func send(_ messages: [MSIXMessage]) {
        for message in messages { signalMSI(message.address, message.data) }
    }

    // MARK: - Configuration space

    /// A configuration read of `size` (1, 2, 4) bytes at `offset`; 0 for accesses outside the 256-byte
    /// space or across a dword.
    public func readConfig(offset: Int, size: Int) -> UInt32 {
        guard Self.isValidConfigAccess(offset: offset, size: size) else { return 0 }
        let base = offset & ~3
        if base == VirtioPCILayout.pciConfigCapability + VirtioPCILayout.capabilityExtra {
            readThroughWindow()
        }
        let dword = core.withState { configDword(base, $0.specific) }
        return (dword >> UInt32(8 * (offset - base))) & Self.laneMask(size)
    }

    /// A configuration write; read-only bits ignore it.
    public func writeConfig(offset: Int, size: Int, value: UInt32) {
        guard Self.isValidConfigAccess(offset: offset, size: size) else { return }
        let base = offset & ~3
        let shift = UInt32(8 * (offset - base))
        let mask = Self.laneMask(size) << shift
        let (messages, windowWrite) = core.withState { state in
            let old = configDword(base, state.specific)
            return writeConfigDword(base, (old & ~mask) | ((value << shift) & mask), &state.specific)
        }
        send(messages)
        if let windowWrite { writeBAR(offset: windowWrite.offset, size: windowWrite.size, value: windowWrite.value) }
    }

    private static func isValidConfigAccess(offset: Int, size: Int) -> Bool {
        (size == 1 || size == 2 || size == 4) && offset >= 0 && offset < PCIConfigRegister.spaceSize
            && offset % 4 + size <= 4
    }

    private static func laneMask(_ size: Int) -> UInt32 {
        size >= 4 ? UInt32.max : (1 << UInt32(8 * size)) - 1
    }

    private func imageDword(_ offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(configImage[offset + $1]) << UInt32(8 * $1) }
    }

    /// The dword at `offset` (aligned) as the guest reads it, without side effects.
    private func configDword(_ offset: Int, _ state: VirtioPCIState) -> UInt32 {
        let window = VirtioPCILayout.pciConfigCapability
        switch offset {
        case PCIConfigRegister.command:
            var status = PCIConfigRegister.statusCapabilitiesList
            if state.isr != 0, !state.msix.isEnabled { status |= PCIConfigRegister.statusInterrupt }
            return UInt32(state.command) | UInt32(status) << 16
        case PCIConfigRegister.bar0:
            let sizeMask = UInt32(truncatingIfNeeded: ~(Self.barLength - 1))
            let address = state.isSizingBARLow ? sizeMask : UInt32(truncatingIfNeeded: barAddress)
            return address | PCIConfigRegister.barMemory64
        case PCIConfigRegister.bar1:
            return state.isSizingBARHigh ? UInt32.max : UInt32(truncatingIfNeeded: barAddress >> 32)
        case PCIConfigRegister.interruptLine:
            return (imageDword(offset) & ~0xFF) | UInt32(state.interruptLineRegister)
        case VirtioPCILayout.msixCapability:
            return (imageDword(offset) & 0xFFFF) | UInt32(state.msix.messageControl) << 16
        case window + VirtioPCILayout.capabilityBAR:
            return (imageDword(offset) & ~0xFF) | UInt32(state.window.bar)
        case window + VirtioPCILayout.capabilityOffset: return state.window.offset
        case window + VirtioPCILayout.capabilityLength: return state.window.length
        case window + VirtioPCILayout.capabilityExtra: return state.window.data
        default: return imageDword(offset)
        }
    }

    /// Stores a dword write into the writable registers; returns MSI-X messages it unmasked and the BAR
    /// write a pci_cfg_data write asks for.
    private func writeConfigDword(_ offset: Int, _ value: UInt32, _ state: inout VirtioPCIState)
        -> ([MSIXMessage], (offset: UInt64, size: Int, value: UInt64)?)
    {
        let window = VirtioPCILayout.pciConfigCapability
        switch offset {
        case PCIConfigRegister.command:
            // Status bits are read-only or write-1-to-clear error bits this function never sets.
            state.command = UInt16(truncatingIfNeeded: value) & VirtioPCIState.writableCommandBits
        case PCIConfigRegister.bar0:
            let sizeMask = UInt32(truncatingIfNeeded: ~(Self.barLength - 1))
            state.isSizingBARLow = value & sizeMask == sizeMask
        case PCIConfigRegister.bar1:
            state.isSizingBARHigh = value == UInt32.max
        case PCIConfigRegister.interruptLine:
            state.interruptLineRegister = UInt8(truncatingIfNeeded: value)
        case VirtioPCILayout.msixCapability:
            let messages = state.msix.writeMessageControl(UInt16(truncatingIfNeeded: value >> 16))
            return (messages, nil)
        case window + VirtioPCILayout.capabilityBAR:
            state.window.bar = UInt8(truncatingIfNeeded: value)
        case window + VirtioPCILayout.capabilityOffset:
            state.window.offset = value
        case window + VirtioPCILayout.capabilityLength:
            state.window.length = value
        case window + VirtioPCILayout.capabilityExtra:
            state.window.data = value
            guard let target = state.window.target else { break }
            return ([], (target.offset, target.size, UInt64(value) & UInt64(Self.laneMask(target.size))))
        default:
            break
        }
        return ([], nil)
    }

    /// A read of pci_cfg_data: the selected BAR 0 access, its value in the field's first bytes (§4.1.4.9).
    private func readThroughWindow() {
        guard let target = core.withState({ $0.specific.window.target }) else { return }
        let value = UInt32(truncatingIfNeeded: readBAR(offset: target.offset, size: target.size))
        core.withState { $0.specific.window.data = value }
    }

    // MARK: - BAR 0

    /// A guest read of BAR 0 from the MMIO bus: all ones while memory space is disabled.
    func readBARRegion(offset: UInt64, size: Int) -> UInt64 {
        guard core.withState({ $0.specific.isMemorySpaceEnabled }) else {
            return size >= 8 ? UInt64.max : (1 << UInt64(8 * max(size, 0))) - 1
        }
        return readBAR(offset: offset, size: size)
    }

    /// A guest write of BAR 0 from the MMIO bus: ignored while memory space is disabled.
    func writeBARRegion(offset: UInt64, size: Int, value: UInt64) {
        guard core.withState({ $0.specific.isMemorySpaceEnabled }) else { return }
        writeBAR(offset: offset, size: size, value: value)
    }

    private func readBAR(offset: UInt64, size: Int) -> UInt64 {
        guard size == 1 || size == 2 || size == 4 || size == 8 else { return 0 }
        switch VirtioPCIStructure(offset: offset, queueCount: queueCount) {
        case .commonConfig(let field):
            return core.withState { readCommonConfig(field, size, $0) }
        case .isr:
            // Reading clears it and deasserts INTx (§4.1.4.5).
            let isr = core.withState { state in
                defer { state.specific.isr = 0 }
                return state.specific.isr
            }
            return UInt64(isr)
        case .deviceConfig(let configOffset):
            return core.device.readConfig(offset: configOffset, size: size)
        case .msixTable(let tableOffset):
            return core.withState { $0.specific.msix.readTable(offset: tableOffset, size: size) }
        case .msixPendingBits(let pbaOffset):
            return core.withState { $0.specific.msix.readPendingBits(offset: pbaOffset, size: size) }
        case .notify, .none:
            return 0
        }
    }

    private func writeBAR(offset: UInt64, size: Int, value: UInt64) {
        guard size == 1 || size == 2 || size == 4 || size == 8 else { return }
        switch VirtioPCIStructure(offset: offset, queueCount: queueCount) {
        case .commonConfig(let field):
            let delivery = core.withState { writeCommonConfig(field, size, value, &$0) }
            if let delivery { deliver(delivery) }
        case .deviceConfig(let configOffset):
            core.device.writeConfig(offset: configOffset, size: size, value: value)
        case .notify(let queue, let aligned):
            // §4.1.4.4: the driver writes the queue index (16 bits); the address says which queue.
            guard aligned, size == 2 || size == 4 else { return }
            notifyQueue(queue)
        case .msixTable(let tableOffset):
            send(core.withState { $0.specific.msix.writeTable(offset: tableOffset, size: size, value: value) })
        case .isr, .msixPendingBits, .none:
            break
        }
    }

    // MARK: - Common configuration (§4.1.4.3)

    private func readCommonConfig(
        _ field: UInt64, _ size: Int, _ state: borrowing VirtioTransportState<VirtioPCIState>
    ) -> UInt64 {
        let index = state.selectedQueueIndex
        let queue = index.map { state.queues[$0] }
        if let (path, part) = Self.queueAddressField(field, size) {
            return part.read(queue?[keyPath: path] ?? GuestAddress(0))
        }
        typealias Field = VirtioPCICommonConfig
        switch (field, size) {
        case (Field.deviceFeatureSelect, 4): return UInt64(state.deviceFeaturesSelect)
        case (Field.deviceFeature, 4): return UInt64(state.deviceFeatureWindow(core.deviceFeatures))
        case (Field.driverFeatureSelect, 4): return UInt64(state.driverFeaturesSelect)
        case (Field.driverFeature, 4): return UInt64(state.driverFeatureWindow)
        case (Field.configVector, 2): return UInt64(state.specific.configVector)
        case (Field.queueCount, 2): return UInt64(state.queues.count)
        case (Field.deviceStatus, 1): return UInt64(state.status & 0xFF)
        case (Field.configGeneration, 1): return UInt64(state.configGeneration & 0xFF)
        case (Field.queueSelect, 2): return UInt64(state.queueSelect & 0xFFFF)
        case (Field.queueSize, 2): return UInt64(queue?.size ?? 0)
        case (Field.queueVector, 2): return UInt64(index.map { state.specific.queueVectors[$0] } ?? Field.noVector)
        case (Field.queueEnable, 2): return queue?.isReady == true ? 1 : 0
        case (Field.queueNotifyOffset, 2): return UInt64(index ?? 0)
        default: return 0
        }
    }

    private func writeCommonConfig(
        _ field: UInt64, _ size: Int, _ value: UInt64, _ state: inout VirtioTransportState<VirtioPCIState>
    ) -> VirtioPCIState.Delivery? {
        let value32 = UInt32(truncatingIfNeeded: value)
        let value16 = UInt16(truncatingIfNeeded: value)
        if let (path, part) = Self.queueAddressField(field, size) {
            state.setUpSelectedQueue { $0[keyPath: path] = part.write(value, into: $0[keyPath: path]) }
            return nil
        }
        typealias Field = VirtioPCICommonConfig
        switch (field, size) {
        case (Field.deviceFeatureSelect, 4): state.deviceFeaturesSelect = value32
        case (Field.driverFeatureSelect, 4): state.driverFeaturesSelect = value32
        case (Field.driverFeature, 4): state.writeDriverFeatureWindow(value32)
        case (Field.configVector, 2): state.specific.configVector = state.specific.acceptedVector(value16)
        case (Field.deviceStatus, 1): return writeStatus(value32 & 0xFF, &state)
        case (Field.queueSelect, 2): state.queueSelect = UInt32(value16)
        case (Field.queueSize, 2):
            // A power of two up to the maximum (§2.7); anything else keeps the current size.
            guard SplitVirtqueue.isValidSize(value16), value16 <= core.maxQueueSize else { break }
            state.setUpSelectedQueue { $0.size = value16 }
        case (Field.queueVector, 2):
            guard let index = state.selectedQueueIndex else { break }
            state.specific.queueVectors[index] = state.specific.acceptedVector(value16)
        case (Field.queueEnable, 2):
            // §4.1.4.3.2: the driver MUST NOT write 0; a queue is enabled only once its setup is valid.
            guard value16 == 1, let index = state.selectedQueueIndex, !state.queues[index].isReady,
                (try? core.validate(state.queues[index])) != nil
            else { break }
            state.queues[index].isReady = true
        default:
            break
        }
        return nil
    }

    /// Which half of a 64-bit queue address field an access covers (§4.1.3.1: either 32-bit half, or
    /// the whole field).
    private enum AddressPart {
        case low, high, whole

        func read(_ address: GuestAddress) -> UInt64 {
            switch self {
            case .low: UInt64(address.low32)
            case .high: UInt64(address.high32)
            case .whole: address.rawValue
            }
        }

        func write(_ value: UInt64, into address: GuestAddress) -> GuestAddress {
            switch self {
            case .low: address.replacingLow32(UInt32(truncatingIfNeeded: value))
            case .high: address.replacingHigh32(UInt32(truncatingIfNeeded: value))
            case .whole: GuestAddress(value)
            }
        }
    }

    private static func queueAddressField(_ field: UInt64, _ size: Int)
        -> (WritableKeyPath<SplitVirtqueue, GuestAddress>, AddressPart)?
    {
        let path: WritableKeyPath<SplitVirtqueue, GuestAddress>
        switch field & ~7 {
        case VirtioPCICommonConfig.queueDescriptor: path = \.descriptorTable
        case VirtioPCICommonConfig.queueDriver: path = \.driverRing
        case VirtioPCICommonConfig.queueDevice: path = \.deviceRing
        default: return nil
        }
        switch (field % 8, size) {
        case (0, 4): return (path, .low)
        case (4, 4): return (path, .high)
        case (0, 8): return (path, .whole)
        default: return nil
        }
    }
}
