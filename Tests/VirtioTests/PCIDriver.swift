import Devices
import GuestMemory
import Synchronization

@testable import Virtio

/// Records the MSI-X messages a function sends.
final class MSIRecorder: Sendable {
    private let sent = Mutex<[MSIXMessage]>([])

    var messages: [MSIXMessage] { sent.withLock { $0 } }

    var signal: @Sendable (UInt64, UInt32) -> Void {
        { [self] address, data in sent.withLock { $0.append(MSIXMessage(address: address, data: data)) } }
    }
}

/// Drives a virtio-pci function the way Linux's virtio_pci_modern.c does: finds the structures through
/// the capability list (vp_modern_probe), then uses them in BAR 0 at their natural widths.
struct PCIDriver {
    /// A structure a virtio capability points at.
    struct Structure: Equatable {
        var bar: UInt8
        var offset: UInt64
        var length: UInt64
    }

    let function: VirtioPCIFunction
    let bar: any BusDevice
    /// The first capability of each cfg_type, as virtio_pci_find_capability picks it.
    private(set) var structures: [UInt8: Structure] = [:]
    private(set) var notifyMultiplier: UInt64 = 0
    /// Configuration-space offset of the MSI-X capability.
    private(set) var msixCapability: Int?

    init(function: VirtioPCIFunction) {
        self.function = function
        bar = function.barRegion
        var position = Int(config(PCIConfigRegister.capabilitiesPointer, 1)) & ~3
        var budget = 48  // as pci_find_capability bounds the walk
        while position != 0, budget > 0 {
            budget -= 1
            switch UInt8(config(position, 1)) {
            case PCIConfigRegister.capabilityVendorSpecific:
                let type = UInt8(config(position + 3, 1))
                if structures[type] == nil {
                    structures[type] = Structure(
                        bar: UInt8(config(position + 4, 1)), offset: UInt64(config(position + 8, 4)),
                        length: UInt64(config(position + 12, 4)))
                }
                if type == VirtioPCILayout.notifyConfigType { notifyMultiplier = UInt64(config(position + 16, 4)) }
            case PCIConfigRegister.capabilityMSIX:
                msixCapability = position
            default:
                break
            }
            position = Int(config(position + 1, 1)) & ~3
        }
    }

    func config(_ offset: Int, _ size: Int) -> UInt32 {
        function.readConfig(offset: offset, size: size)
    }

    func setConfig(_ offset: Int, _ size: Int, _ value: UInt32) {
        function.writeConfig(offset: offset, size: size, value: value)
    }

    /// Sets memory space and bus master in the Command register, as pci_enable_device and pci_set_master.
    func enable() {
        setConfig(
            PCIConfigRegister.command, 2,
            UInt32(PCIConfigRegister.commandMemorySpace | PCIConfigRegister.commandBusMaster))
    }

    private func base(_ type: UInt8) -> UInt64 {
        structures[type]?.offset ?? 0
    }

    func common(_ field: UInt64, _ size: Int) -> UInt64 {
        bar.read(offset: base(VirtioPCILayout.commonConfigType) + field, size: size)
    }

    func setCommon(_ field: UInt64, _ size: Int, _ value: UInt64) {
        bar.write(offset: base(VirtioPCILayout.commonConfigType) + field, size: size, value: value)
    }

    /// Writes a common configuration field and reads it back, as a driver checks what the device took.
    func writeBack(_ field: UInt64, _ size: Int, _ value: UInt64) -> UInt64 {
        setCommon(field, size, value)
        return common(field, size)
    }

    var status: UInt64 { common(VirtioPCICommonConfig.deviceStatus, 1) }

    /// Reads (and so clears) the ISR, as vp_interrupt does.
    func readISR() -> UInt64 {
        bar.read(offset: base(VirtioPCILayout.isrConfigType), size: 1)
    }

    func deviceConfig(_ offset: UInt64, _ size: Int) -> UInt64 {
        bar.read(offset: base(VirtioPCILayout.deviceConfigType) + offset, size: size)
    }

    /// Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK (§3.1.1); returns whether FEATURES_OK stuck.
    @discardableResult
    func negotiate(features: UInt64) -> Bool {
        setCommon(VirtioPCICommonConfig.deviceStatus, 1, 0)
        setCommon(VirtioPCICommonConfig.deviceStatus, 1, UInt64(VirtioDeviceStatus.acknowledge))
        setCommon(
            VirtioPCICommonConfig.deviceStatus, 1, UInt64(VirtioDeviceStatus.acknowledge | VirtioDeviceStatus.driver))
        for half in 0..<2 {
            setCommon(VirtioPCICommonConfig.driverFeatureSelect, 4, UInt64(half))
            setCommon(VirtioPCICommonConfig.driverFeature, 4, features >> (32 * UInt64(half)) & 0xFFFF_FFFF)
        }
        setCommon(VirtioPCICommonConfig.deviceStatus, 1, status | UInt64(VirtioDeviceStatus.featuresOK))
        return status & UInt64(VirtioDeviceStatus.featuresOK) != 0
    }

    /// Sets up queue `index` at the test driver's rings with `vector`, then enables it (vp_modern's
    /// setup_vq: addresses as two 32-bit halves).
    func setUpQueue(_ index: UInt16, size: UInt16, rings: TestDriver, vector: UInt16 = VirtioPCICommonConfig.noVector) {
        setCommon(VirtioPCICommonConfig.queueSelect, 2, UInt64(index))
        setCommon(VirtioPCICommonConfig.queueSize, 2, UInt64(size))
        for (field, address) in [
            (VirtioPCICommonConfig.queueDescriptor, rings.descriptorTable.rawValue),
            (VirtioPCICommonConfig.queueDriver, rings.driverRing.rawValue),
            (VirtioPCICommonConfig.queueDevice, rings.deviceRing.rawValue),
        ] {
            setCommon(field, 4, address & 0xFFFF_FFFF)
            setCommon(field + 4, 4, address >> 32)
        }
        setCommon(VirtioPCICommonConfig.queueVector, 2, UInt64(vector))
        setCommon(VirtioPCICommonConfig.queueEnable, 2, 1)
    }

    func driverOK() {
        setCommon(VirtioPCICommonConfig.deviceStatus, 1, status | UInt64(VirtioDeviceStatus.driverOK))
    }

    /// Writes the queue index at the queue's notification address (vp_notify).
    func notify(_ queue: UInt16) {
        setCommon(VirtioPCICommonConfig.queueSelect, 2, UInt64(queue))
        let slot = common(VirtioPCICommonConfig.queueNotifyOffset, 2)
        bar.write(
            offset: base(VirtioPCILayout.notifyConfigType) + slot * notifyMultiplier, size: 2, value: UInt64(queue))
    }

    /// The message vector `vector` is programmed with.
    static func message(_ vector: Int) -> MSIXMessage {
        MSIXMessage(address: 0xFEE0_0000 + UInt64(vector) << 12, data: 0x40 + UInt32(vector))
    }

    /// Programs `count` table entries with `message(_:)`, unmasked, and sets MSI-X Enable (as
    /// pci_alloc_irq_vectors does).
    func enableMSIX(vectors count: Int) {
        for vector in 0..<count {
            let entry = VirtioPCILayout.msixTable + UInt64(vector) * 16
            let message = Self.message(vector)
            bar.write(offset: entry, size: 4, value: message.address & 0xFFFF_FFFF)
            bar.write(offset: entry + 4, size: 4, value: message.address >> 32)
            bar.write(offset: entry + 8, size: 4, value: UInt64(message.data))
            bar.write(offset: entry + 12, size: 4, value: 0)
        }
        setMSIXControl(MSIXTable.enableBit)
    }

    func setMSIXControl(_ value: UInt16) {
        setConfig((msixCapability ?? 0) + 2, 2, UInt32(value))
    }

    func setVectorMasked(_ vector: Int, _ masked: Bool) {
        bar.write(offset: VirtioPCILayout.msixTable + UInt64(vector) * 16 + 12, size: 4, value: masked ? 1 : 0)
    }

    func pendingBits() -> UInt64 {
        bar.read(offset: VirtioPCILayout.msixPendingBits, size: 8)
    }
}
