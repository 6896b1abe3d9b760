import Devices
import GuestMemory
import Testing

@testable import Virtio

@Suite("virtio-pci function (§4.1)")
struct VirtioPCIFunctionTests {
    static let barAddress: UInt64 = 0x8_0000_8000
    let memory: GuestMemory
    let rings: TestDriver
    let device = FakeDevice()
    let messages = MSIRecorder()
    let interrupts = InterruptRecorder()
    let function: VirtioPCIFunction
    let pci: PCIDriver

    init() throws {
        memory = try GuestMemory(size: 2 << 20)
        rings = TestDriver(memory: memory, size: 16)
        function = VirtioPCIFunction(
            device: device, memory: memory, barAddress: Self.barAddress, signalMSI: messages.signal,
            interruptLine: interrupts.line)
        pci = PCIDriver(function: function)
        pci.enable()
    }

    /// MSI-X on, VERSION_1 | EVENT_IDX, queue 0 on vector 1, config on vector 0, DRIVER_OK.
    private func bringUp() {
        pci.enableMSIX(vectors: 3)
        #expect(pci.negotiate(features: VirtioFeature.version1 | VirtioFeature.eventIndex))
        pci.setCommon(VirtioPCICommonConfig.configVector, 2, 0)
        pci.setUpQueue(0, size: 16, rings: rings, vector: 1)
        pci.driverOK()
    }

    @Test("the header says: virtio vendor, modern device ID, revision 1, class, subsystem, INTA, capabilities")
    func header() {
        #expect(pci.config(PCIConfigRegister.vendorID, 2) == 0x1AF4)
        #expect(pci.config(PCIConfigRegister.deviceID, 2) == 0x1040 + 42)
        #expect(pci.config(PCIConfigRegister.vendorID, 4) == (0x1040 + 42) << 16 | 0x1AF4)
        #expect(pci.config(PCIConfigRegister.revisionID, 1) == 1)
        #expect(pci.config(PCIConfigRegister.revisionID, 4) == 0xFF00_0001)
        #expect(pci.config(PCIConfigRegister.headerType, 1) == 0)
        #expect(pci.config(PCIConfigRegister.subsystemVendorID, 2) == 0x1AF4)
        #expect(pci.config(PCIConfigRegister.subsystemID, 2) == 0x1040 + 42)
        #expect(pci.config(PCIConfigRegister.interruptPin, 1) == 1)
        #expect(pci.config(PCIConfigRegister.capabilitiesPointer, 1) == 0x40)
        #expect(pci.config(PCIConfigRegister.command + 2, 2) & 0x10 != 0)
        pci.setConfig(PCIConfigRegister.interruptLine, 1, 11)
        #expect(pci.config(PCIConfigRegister.interruptLine, 4) == 0x0100 | 11)
    }

    @Test(
        "class codes by device type",
        arguments: [(1, 0x02_0000), (2, 0x01_8000), (3, 0x07_8000), (4, 0xFF_0000)]
            as [(UInt32, UInt32)])
    func classCodes(deviceID: UInt32, classCode: UInt32) throws {
        let image = VirtioPCIConfigSpace.image(deviceID: deviceID, queueCount: 1)
        let code = UInt32(image[9]) | UInt32(image[10]) << 8 | UInt32(image[11]) << 16
        #expect(code == classCode)
        let rng = VirtioPCIFunction(device: VirtioRNG(), memory: memory, barAddress: 0, signalMSI: { _, _ in })
        #expect(rng.readConfig(offset: 8, size: 4) >> 8 == 0xFF_0000)
        #expect(rng.readConfig(offset: 2, size: 2) == 0x1044)
    }

    @Test("BAR 0 is a 64-bit memory BAR sized the standard way; it stays at its address; other BARs read 0")
    func barSizing() {
        let low = PCIConfigRegister.bar0
        let high = PCIConfigRegister.bar1
        #expect(pci.config(low, 4) == 0x0000_8004)
        #expect(pci.config(high, 4) == 0x8)
        // pci_read_bases: all ones, read the mask, write the original back; then the high half.
        pci.setConfig(low, 4, 0xFFFF_FFFF)
        #expect(pci.config(low, 4) == 0xFFFF_8004)
        pci.setConfig(low, 4, 0x0000_8004)
        pci.setConfig(high, 4, 0xFFFF_FFFF)
        #expect(pci.config(high, 4) == 0xFFFF_FFFF)
        pci.setConfig(high, 4, 0x8)
        #expect(pci.config(low, 4) == 0x0000_8004)
        #expect(pci.config(high, 4) == 0x8)
        // Size from the mask: ~(mask & ~0xF) + 1 over both halves.
        #expect(~(UInt64(0xFFFF_FFFF) << 32 | 0xFFFF_8000) &+ 1 == VirtioPCIFunction.barLength)
        // Another address is not taken.
        pci.setConfig(low, 4, 0x1234_0000)
        #expect(pci.config(low, 4) == 0x0000_8004)
        for bar in stride(from: 0x18, through: 0x24, by: 4) {
            pci.setConfig(bar, 4, 0xFFFF_FFFF)
            #expect(pci.config(bar, 4) == 0)
        }
        pci.setConfig(0x30, 4, 0xFFFF_F800)  // expansion ROM: none
        #expect(pci.config(0x30, 4) == 0)
    }

    @Test("the capability chain, walked like virtio_pci_modern, finds every structure inside BAR 0")
    func capabilities() throws {
        let barLength = VirtioPCIFunction.barLength
        for type in [
            VirtioPCILayout.commonConfigType, VirtioPCILayout.notifyConfigType, VirtioPCILayout.isrConfigType,
            VirtioPCILayout.deviceConfigType,
        ] {
            let structure = try #require(pci.structures[type])
            #expect(structure.bar == 0)
            #expect(structure.length > 0)
            #expect(structure.offset + structure.length <= barLength)
        }
        #expect(try #require(pci.structures[VirtioPCILayout.commonConfigType]).length >= 0x38)
        #expect(pci.structures[VirtioPCILayout.pciConfigType] != nil)
        #expect(pci.notifyMultiplier == 4)
        // Each queue's notify address (queue_notify_off × multiplier) lies inside the notify structure.
        let notify = try #require(pci.structures[VirtioPCILayout.notifyConfigType])
        for queue in 0..<device.queueCount {
            pci.setCommon(VirtioPCICommonConfig.queueSelect, 2, UInt64(queue))
            let offset = pci.common(VirtioPCICommonConfig.queueNotifyOffset, 2) * pci.notifyMultiplier
            #expect(offset + 2 <= notify.length)
            #expect(notify.offset + offset == function.notifyOffset(queue: queue))
        }
        // MSI-X: queueCount + 1 vectors; table and PBA in BAR 0.
        let msix = try #require(pci.msixCapability)
        #expect(pci.config(msix + 2, 2) == UInt32(device.queueCount))
        let table = pci.config(msix + 4, 4)
        let pba = pci.config(msix + 8, 4)
        #expect(table & 7 == 0)
        #expect(pba & 7 == 0)
        #expect(UInt64(table) + 16 * UInt64(device.queueCount + 1) <= barLength)
        #expect(UInt64(pba & ~7) + 8 <= barLength)
    }

    @Test("BAR 0 answers only with memory space enabled; bus master and interrupt disable are stored")
    func command() {
        pci.setConfig(PCIConfigRegister.command, 2, 0)
        #expect(pci.common(VirtioPCICommonConfig.queueCount, 2) == 0xFFFF)
        #expect(pci.bar.read(offset: 0, size: 4) == 0xFFFF_FFFF)
        #expect(pci.bar.read(offset: 0, size: 8) == UInt64.max)
        pci.setCommon(VirtioPCICommonConfig.deviceStatus, 1, 1)
        pci.enable()
        #expect(pci.status == 0)
        #expect(pci.common(VirtioPCICommonConfig.queueCount, 2) == 2)
        pci.setConfig(PCIConfigRegister.command, 2, 0xFFFF)
        #expect(pci.config(PCIConfigRegister.command, 2) == 0x0406)
    }

    @Test("common config: feature windows, queue size reset to the maximum, sizes and enable validated")
    func commonConfig() {
        pci.setCommon(VirtioPCICommonConfig.deviceFeatureSelect, 4, 1)
        #expect(pci.common(VirtioPCICommonConfig.deviceFeature, 4) == device.deviceFeatures >> 32)
        pci.setCommon(VirtioPCICommonConfig.deviceFeatureSelect, 4, 0)
        #expect(pci.common(VirtioPCICommonConfig.deviceFeature, 4) == device.deviceFeatures & 0xFFFF_FFFF)
        #expect(pci.common(VirtioPCICommonConfig.queueCount, 2) == 2)

        pci.setCommon(VirtioPCICommonConfig.queueSelect, 2, 1)
        #expect(pci.common(VirtioPCICommonConfig.queueSize, 2) == 64)  // the maximum until the driver shrinks it
        #expect(pci.common(VirtioPCICommonConfig.queueNotifyOffset, 2) == 1)
        for refused in [24, 128, 0] as [UInt64] {
            #expect(pci.writeBack(VirtioPCICommonConfig.queueSize, 2, refused) == 64)
        }
        #expect(pci.writeBack(VirtioPCICommonConfig.queueSize, 2, 16) == 16)
        // Addresses outside guest RAM: queue_enable does not take.
        pci.setCommon(VirtioPCICommonConfig.queueDescriptor, 8, 0x10_0000_0000)
        #expect(pci.writeBack(VirtioPCICommonConfig.queueEnable, 2, 1) == 0)
        pci.setUpQueue(1, size: 16, rings: rings)
        #expect(pci.common(VirtioPCICommonConfig.queueEnable, 2) == 1)
        #expect(pci.common(VirtioPCICommonConfig.queueDescriptor, 8) == rings.descriptorTable.rawValue)
        #expect(pci.common(VirtioPCICommonConfig.queueDevice, 4) == rings.deviceRing.rawValue)
        // Enabled: the setup is fixed, and 0 does not disable.
        pci.setCommon(VirtioPCICommonConfig.queueSize, 2, 8)
        pci.setCommon(VirtioPCICommonConfig.queueEnable, 2, 0)
        #expect(pci.common(VirtioPCICommonConfig.queueSize, 2) == 16)
        #expect(pci.common(VirtioPCICommonConfig.queueEnable, 2) == 1)

        // A queue that does not exist.
        pci.setCommon(VirtioPCICommonConfig.queueSelect, 2, 2)
        #expect(pci.common(VirtioPCICommonConfig.queueSize, 2) == 0)
        #expect(pci.common(VirtioPCICommonConfig.queueVector, 2) == 0xFFFF)
        #expect(pci.writeBack(VirtioPCICommonConfig.queueEnable, 2, 1) == 0)
    }

    @Test(
        "FEATURES_OK is refused without VERSION_1 or with features the device did not offer",
        arguments: [0, VirtioFeature.eventIndex, VirtioFeature.version1 | VirtioFeature.indirectDescriptors]
            as [UInt64])
    func featuresRefused(features: UInt64) {
        #expect(!pci.negotiate(features: features))
        pci.driverOK()
        #expect(pci.status & UInt64(VirtioDeviceStatus.driverOK) == 0)
        #expect(device.log.activations.isEmpty)
        pci.setCommon(VirtioPCICommonConfig.driverFeatureSelect, 4, 1)
        #expect(pci.common(VirtioPCICommonConfig.driverFeature, 4) == features >> 32)
    }

    @Test("vectors: out of range reads back NO_VECTOR")
    func vectors() {
        #expect(pci.writeBack(VirtioPCICommonConfig.configVector, 2, 2) == 2)
        #expect(pci.writeBack(VirtioPCICommonConfig.configVector, 2, 3) == 0xFFFF)
        pci.setCommon(VirtioPCICommonConfig.queueSelect, 2, 1)
        #expect(pci.writeBack(VirtioPCICommonConfig.queueVector, 2, 1) == 1)
        #expect(pci.writeBack(VirtioPCICommonConfig.queueVector, 2, 0x8000) == 0xFFFF)
    }

    @Test("bring-up, notify and MSI-X: the queue's vector carries its message")
    func msixDelivery() throws {
        bringUp()
        #expect(pci.status == 0b1111)
        let activation = try #require(device.log.activations.first)
        #expect(activation.features == VirtioFeature.version1 | VirtioFeature.eventIndex)
        #expect(activation.queues[0].isReady && activation.queues[0].eventIndexEnabled)
        #expect(activation.queues[0].driverRing == rings.driverRing)

        pci.notify(0)
        #expect(device.log.processed == [0])
        #expect(messages.messages == [PCIDriver.message(1)])
        #expect(pci.readISR() == 0)  // MSI-X: no queue bit in the ISR
        #expect(interrupts.history.isEmpty)
        // The ioeventfd path does the same.
        function.notifyQueue(0)
        #expect(messages.messages == [PCIDriver.message(1), PCIDriver.message(1)])
        // A device thread's handle raises the queue it names.
        let handle = try #require(device.log.interrupt)
        handle.usedBuffers(queue: 1)  // queue 1 has NO_VECTOR: nothing
        handle.usedBuffers(queue: 0)
        #expect(messages.messages.count == 3)
        function.configurationChanged()
        #expect(messages.messages.last == PCIDriver.message(0))
        #expect(pci.common(VirtioPCICommonConfig.configGeneration, 1) == 1)
    }

    @Test("a masked vector sets its pending bit and fires when unmasked; the function mask too")
    func masking() {
        bringUp()
        pci.setVectorMasked(1, true)
        pci.notify(0)
        #expect(messages.messages.isEmpty)
        #expect(pci.pendingBits() == 0b10)
        #expect(pci.bar.read(offset: VirtioPCILayout.msixTable + 16 + 12, size: 4) == 1)
        pci.setVectorMasked(1, false)
        #expect(messages.messages == [PCIDriver.message(1)])
        #expect(pci.pendingBits() == 0)

        pci.setMSIXControl(MSIXTable.enableBit | MSIXTable.functionMaskBit)
        #expect(pci.config(pci.msixCapability! + 2, 2) == 0xC002)
        function.configurationChanged()
        pci.notify(0)
        #expect(pci.pendingBits() == 0b11)
        #expect(messages.messages.count == 1)
        pci.setMSIXControl(MSIXTable.enableBit)
        #expect(messages.messages.count == 3)
        #expect(Set(messages.messages.suffix(2).map(\.data)) == [0x40, 0x41])
    }

    @Test("without MSI-X: ISR bits, INTx follows them, reading clears, interrupt disable masks the line")
    func intxFallback() {
        #expect(pci.negotiate(features: VirtioFeature.version1))
        pci.setUpQueue(0, size: 16, rings: rings)
        pci.driverOK()
        pci.notify(0)
        #expect(interrupts.history == [true])
        #expect(pci.config(PCIConfigRegister.command + 2, 2) & 0x08 != 0)
        #expect(pci.readISR() == 1)
        #expect(interrupts.history == [true, false])
        #expect(pci.readISR() == 0)
        #expect(messages.messages.isEmpty)

        function.configurationChanged()
        #expect(interrupts.history == [true, false, true])
        pci.setConfig(
            PCIConfigRegister.command, 2,
            UInt32(PCIConfigRegister.commandMemorySpace | PCIConfigRegister.commandInterruptDisable))
        #expect(interrupts.history == [true, false, true, false])
        #expect(pci.config(PCIConfigRegister.command + 2, 2) & 0x08 != 0)  // still pending
        pci.enable()
        #expect(interrupts.level)
        #expect(pci.readISR() == 2)
        #expect(!interrupts.level)
    }

    @Test("a queue error sets DEVICE_NEEDS_RESET and signals msix_config; reset brings everything back")
    func queueErrorAndReset() throws {
        bringUp()
        device.answer(.fail(.chainTooLong(limit: 16)))
        pci.notify(0)
        #expect(pci.status & UInt64(VirtioDeviceStatus.deviceNeedsReset) != 0)
        #expect(function.queueError == .chainTooLong(limit: 16))
        #expect(messages.messages == [PCIDriver.message(0)])
        pci.notify(0)
        #expect(device.log.processed == [0])

        pci.setVectorMasked(0, true)
        function.configurationChanged()
        #expect(pci.pendingBits() == 1)
        pci.setCommon(VirtioPCICommonConfig.deviceStatus, 1, 0)
        #expect(device.log.resets == 2)  // the first was the driver's, before negotiating
        #expect(pci.status == 0)
        #expect(function.queueError == nil)
        #expect(pci.pendingBits() == 0)
        #expect(pci.common(VirtioPCICommonConfig.configVector, 2) == 0xFFFF)
        pci.setCommon(VirtioPCICommonConfig.queueSelect, 2, 0)
        #expect(pci.common(VirtioPCICommonConfig.queueVector, 2) == 0xFFFF)
        #expect(pci.common(VirtioPCICommonConfig.queueEnable, 2) == 0)
        #expect(pci.common(VirtioPCICommonConfig.queueSize, 2) == 64)
        #expect(pci.common(VirtioPCICommonConfig.queueDescriptor, 8) == 0)
        // The MSI-X table is the PCI function's: still programmed and enabled.
        #expect(pci.bar.read(offset: VirtioPCILayout.msixTable + 8, size: 4) == 0x40)
        #expect(pci.config(pci.msixCapability! + 2, 2) & UInt32(MSIXTable.enableBit) != 0)
        pci.setVectorMasked(0, false)
        #expect(messages.messages.count == 1)
        bringUp()
        #expect(device.log.activations.count == 2)
    }

    @Test("the PCI configuration access capability reads and writes BAR 0 (§4.1.4.9)")
    func configWindow() throws {
        let window = VirtioPCILayout.pciConfigCapability
        pci.setConfig(PCIConfigRegister.command, 2, 0)  // works without memory space
        pci.setConfig(window + 4, 1, 0)
        pci.setConfig(window + 12, 4, 2)
        pci.setConfig(window + 8, 4, UInt32(VirtioPCICommonConfig.queueCount))
        #expect(pci.config(window + 16, 4) == 2)
        pci.setConfig(window + 12, 4, 1)
        pci.setConfig(window + 8, 4, UInt32(VirtioPCICommonConfig.deviceStatus))
        pci.setConfig(window + 16, 1, UInt32(VirtioDeviceStatus.acknowledge))
        #expect(function.deviceStatus == VirtioDeviceStatus.acknowledge)
        pci.setConfig(window + 8, 4, UInt32(VirtioPCILayout.deviceConfig + 2))
        #expect(pci.config(window + 16, 1) == 0x12)
        // Misaligned, too long, or another BAR: nothing happens.
        pci.setConfig(window + 12, 4, 4)
        pci.setConfig(window + 8, 4, UInt32(VirtioPCICommonConfig.deviceStatus))
        pci.setConfig(window + 16, 4, 0)
        pci.setConfig(window + 12, 4, 8)
        pci.setConfig(window + 8, 4, 0)
        pci.setConfig(window + 16, 4, 0)
        pci.setConfig(window + 12, 4, 1)
        pci.setConfig(window + 4, 1, 2)
        pci.setConfig(window + 8, 4, UInt32(VirtioPCICommonConfig.deviceStatus))
        pci.setConfig(window + 16, 4, 0)
        #expect(function.deviceStatus == VirtioDeviceStatus.acknowledge)
        #expect(pci.config(window + 4, 1) == 2)
    }

    @Test("device configuration at any width; the generation counts changes")
    func deviceConfig() {
        #expect(pci.deviceConfig(0, 1) == 0x10)
        #expect(pci.deviceConfig(2, 2) == 0x1312)
        #expect(pci.deviceConfig(0, 8) == 0x1716_1514_1312_1110)
        pci.bar.write(offset: VirtioPCILayout.deviceConfig + 4, size: 2, value: 0xBEEF)
        #expect(device.log.configWrites.count == 1)
        function.configurationChanged()
        #expect(pci.common(VirtioPCICommonConfig.configGeneration, 1) == 1)
        #expect(messages.messages.isEmpty && interrupts.history.isEmpty)
    }

    @Test("wrong widths, straddling and unaligned accesses to common config read 0 and are ignored")
    func fieldWidths() {
        pci.setCommon(VirtioPCICommonConfig.deviceStatus, 4, 1)
        pci.setCommon(VirtioPCICommonConfig.deviceStatus, 2, 1)
        pci.setCommon(VirtioPCICommonConfig.queueSelect - 1, 4, 0x0001_0000)
        #expect(pci.status == 0)
        #expect(pci.common(VirtioPCICommonConfig.queueSelect, 2) == 0)
        #expect(pci.common(VirtioPCICommonConfig.queueCount, 4) == 0)
        #expect(pci.common(VirtioPCICommonConfig.deviceFeature, 8) == 0)
        #expect(pci.common(VirtioPCICommonConfig.deviceFeature + 1, 2) == 0)
        #expect(pci.common(VirtioPCICommonConfig.queueDescriptor + 2, 4) == 0)
        #expect(pci.common(VirtioPCICommonConfig.queueDescriptor + 4, 8) == 0)
        // Notification slots take 2 or 4 bytes at their start only.
        bringUp()
        for (offset, size) in [(1, 2), (0, 1), (2, 2), (0, 8)] as [(UInt64, Int)] {
            pci.bar.write(offset: function.notifyOffset(queue: 0) + offset, size: size, value: 0)
        }
        #expect(device.log.processed.isEmpty)
        // MSI-X table entries take aligned 4 and 8 bytes.
        pci.bar.write(offset: VirtioPCILayout.msixTable + 2, size: 4, value: 0)
        pci.bar.write(offset: VirtioPCILayout.msixTable + 8, size: 2, value: 0)
        #expect(pci.bar.read(offset: VirtioPCILayout.msixTable + 8, size: 4) == 0x40)
        pci.bar.write(offset: VirtioPCILayout.msixTable + 8, size: 8, value: 0x1_0000_0077)
        #expect(pci.bar.read(offset: VirtioPCILayout.msixTable + 8, size: 8) == 0x1_0000_0077)
    }

    @Test("any configuration offset and size is safe", arguments: [1, 2, 3, 4, 8, 0, -1])
    func fuzzConfig(size: Int) {
        for offset in -4..<4100 {
            _ = function.readConfig(offset: offset, size: size)
            function.writeConfig(offset: offset, size: size, value: UInt32.max)
        }
        _ = function.readConfig(offset: Int.max, size: size)
        function.writeConfig(offset: Int.min, size: size, value: 0)
    }

    @Test("any BAR offset and size is safe", arguments: [1, 2, 3, 4, 8, 0, -1, 16])
    func fuzzBAR(size: Int) {
        bringUp()
        let bar = pci.bar
        for offset in stride(from: UInt64(0), to: VirtioPCIFunction.barLength + 16, by: 1) {
            _ = bar.read(offset: offset, size: size)
        }
        for offset in stride(from: UInt64(0), to: VirtioPCIFunction.barLength + 16, by: 3) {
            bar.write(offset: offset, size: size, value: UInt64.max)
        }
        _ = bar.read(offset: UInt64.max, size: size)
        bar.write(offset: UInt64.max - 1, size: size, value: UInt64.max)
    }
}

@Suite("virtio-rng over virtio-pci")
struct VirtioPCIRNGTests {
    @Test("a driver brings the device up over BAR 0 with MSI-X and gets random bytes after a notify")
    func bringUp() throws {
        let memory = try GuestMemory(size: 4 << 20)
        let rings = TestDriver(memory: memory, size: 16)
        let messages = MSIRecorder()
        let device = VirtioRNG()
        let function = VirtioPCIFunction(
            device: device, memory: memory, barAddress: 0xC000_0000, signalMSI: messages.signal)
        let pci = PCIDriver(function: function)
        pci.enable()
        pci.enableMSIX(vectors: 2)
        #expect(pci.negotiate(features: device.deviceFeatures))
        pci.setCommon(VirtioPCICommonConfig.configVector, 2, 0)
        pci.setUpQueue(0, size: 16, rings: rings, vector: 1)
        pci.driverOK()
        #expect(pci.status == 0b1111)

        let buffer = try rings.buffer([UInt8](repeating: 0, count: 64))
        try rings.writeChain([TestBuffer(address: buffer, length: 64, writable: true)])
        try rings.makeAvailable(0)
        pci.notify(0)
        #expect(try rings.usedIndex() == 1)
        #expect(try rings.usedElement(0).length == 64)
        #expect(Set(try memory.read(at: buffer, length: 64)).count > 8)
        #expect(messages.messages == [PCIDriver.message(1)])
    }
}
