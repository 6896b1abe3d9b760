import GuestMemory
import Testing

@testable import Virtio

@Suite("virtio-mmio transport registers (§4.2.2)")
struct VirtioMMIOTransportTests {
    let memory: GuestMemory
    let rings: TestDriver
    let device = FakeDevice()
    let interrupts = InterruptRecorder()
    let transport: VirtioMMIOTransport
    let mmio: MMIODriver

    init() throws {
        memory = try GuestMemory(size: 2 << 20)
        rings = TestDriver(memory: memory, size: 16)
        transport = VirtioMMIOTransport(device: device, memory: memory, interruptLine: interrupts.line)
        mmio = MMIODriver(transport: transport)
    }

    /// Negotiates VERSION_1 | EVENT_IDX, sets up queue 0 and sets DRIVER_OK.
    private func bringUp() {
        #expect(mmio.negotiate(features: VirtioFeature.version1 | VirtioFeature.eventIndex))
        mmio.setUpQueue(0, size: 16, rings: rings)
        mmio.driverOK()
    }

    @Test("identification registers")
    func identification() {
        #expect(mmio.read(VirtioMMIORegister.magicValue) == 0x7472_6976)
        #expect(mmio.read(VirtioMMIORegister.version) == 2)
        #expect(mmio.read(VirtioMMIORegister.deviceID) == 42)
        #expect(mmio.read(VirtioMMIORegister.vendorID) == VirtioMMIOTransport.vendorID)
        #expect(mmio.read(VirtioMMIORegister.status) == 0)
        #expect(mmio.read(VirtioMMIORegister.configGeneration) == 0)
        // No shared memory regions: length -1 (§4.2.2).
        #expect(mmio.read(0x0B0) == 0xFFFF_FFFF)
        #expect(mmio.read(0x0B4) == 0xFFFF_FFFF)
    }

    @Test("register accesses that are not 32-bit aligned read 0 and are ignored")
    func registerWidths() {
        #expect(transport.read(offset: 0, size: 2) == 0)
        #expect(transport.read(offset: 1, size: 4) == 0)
        #expect(transport.read(offset: 0, size: 8) == 0)
        transport.write(offset: VirtioMMIORegister.status, size: 1, value: 1)
        #expect(mmio.status == 0)
    }

    @Test("device features are read 32 bits at a time through the selector")
    func deviceFeatures() {
        #expect(mmio.deviceFeatures() == device.deviceFeatures)
        mmio.write(VirtioMMIORegister.deviceFeaturesSelect, 2)
        #expect(mmio.read(VirtioMMIORegister.deviceFeatures) == 0)
    }

    @Test("FEATURES_OK is accepted for a subset of the device features that includes VERSION_1")
    func featuresAccepted() {
        #expect(mmio.negotiate(features: VirtioFeature.version1))
        #expect(mmio.status == 0b1011)
    }

    @Test(
        "FEATURES_OK is refused without VERSION_1 or with features the device did not offer",
        arguments: [0, VirtioFeature.eventIndex, VirtioFeature.version1 | VirtioFeature.indirectDescriptors]
            as [UInt64])
    func featuresRefused(features: UInt64) {
        #expect(!mmio.negotiate(features: features))
        #expect(mmio.status == VirtioDeviceStatus.acknowledge | VirtioDeviceStatus.driver)
        // DRIVER_OK without FEATURES_OK does not start the device.
        mmio.driverOK()
        #expect(mmio.status & VirtioDeviceStatus.driverOK == 0)
        #expect(device.log.activations.isEmpty)
    }

    @Test("queue registers: size maximum per queue, setup read back, fixed once ready")
    func queueSetup() {
        mmio.write(VirtioMMIORegister.queueSelect, 1)
        #expect(mmio.read(VirtioMMIORegister.queueSizeMaximum) == 64)
        mmio.write(VirtioMMIORegister.queueSelect, 2)
        #expect(mmio.read(VirtioMMIORegister.queueSizeMaximum) == 0)  // no such queue

        mmio.setUpQueue(1, size: 32, rings: rings)
        #expect(mmio.read(VirtioMMIORegister.queueSize) == 32)
        #expect(mmio.read(VirtioMMIORegister.queueReady) == 1)
        #expect(mmio.read(VirtioMMIORegister.queueDeviceLow) == UInt32(rings.deviceRing.rawValue))
        mmio.write(VirtioMMIORegister.queueSize, 8)  // ignored: the queue is ready
        #expect(mmio.read(VirtioMMIORegister.queueSize) == 32)
    }

    @Test("DRIVER_OK activates the device with the negotiated features and validated queues")
    func activation() throws {
        bringUp()
        #expect(mmio.status == 0b1111)
        let activation = try #require(device.log.activations.first)
        #expect(activation.features == VirtioFeature.version1 | VirtioFeature.eventIndex)
        #expect(activation.queues.count == 2)
        #expect(activation.queues[0].isReady)
        #expect(activation.queues[0].eventIndexEnabled)
        #expect(activation.queues[0].descriptorTable == rings.descriptorTable)
        #expect(!activation.queues[1].isReady)
    }

    @Test("notify → processing → InterruptStatus → line high → ack → line low")
    func notifyAndInterrupt() {
        bringUp()
        mmio.write(VirtioMMIORegister.queueNotify, 0)
        #expect(device.log.processed == [0])
        #expect(mmio.read(VirtioMMIORegister.interruptStatus) == 1)
        #expect(interrupts.history == [true])
        mmio.write(VirtioMMIORegister.queueNotify, 0)  // still pending: the line stays high
        #expect(interrupts.history == [true])
        #expect(mmio.acknowledgeInterrupts() == 1)
        #expect(mmio.read(VirtioMMIORegister.interruptStatus) == 0)
        #expect(interrupts.history == [true, false])

        device.answer(.interrupt(false))
        mmio.write(VirtioMMIORegister.queueNotify, 0)
        #expect(mmio.read(VirtioMMIORegister.interruptStatus) == 0)
        #expect(interrupts.history == [true, false])
    }

    @Test("a cause raised while the driver acknowledges another gets a fresh edge")
    func partialAcknowledge() {
        bringUp()
        mmio.write(VirtioMMIORegister.queueNotify, 0)
        #expect(interrupts.history == [true])
        transport.configurationChanged()  // a second cause while the first is pending
        #expect(mmio.read(VirtioMMIORegister.interruptStatus) == 3)
        mmio.write(VirtioMMIORegister.interruptAcknowledge, 1)  // the driver only saw the used-buffer bit
        #expect(mmio.read(VirtioMMIORegister.interruptStatus) == 2)
        #expect(interrupts.history == [true, false, true])
        mmio.write(VirtioMMIORegister.interruptAcknowledge, 2)
        #expect(interrupts.history == [true, false, true, false])
    }

    @Test("a device thread raises interrupts through its handle until the driver resets the device")
    func deviceThreadInterrupt() throws {
        bringUp()
        let handle = try #require(device.log.interrupt)
        handle.usedBuffers(queue: 0)
        #expect(mmio.read(VirtioMMIORegister.interruptStatus) == 1)
        #expect(interrupts.history == [true])
        #expect(mmio.acknowledgeInterrupts() == 1)
        mmio.write(VirtioMMIORegister.status, 0)
        handle.usedBuffers(queue: 0)  // stale: belongs to the activation before the reset
        handle.queueBroken(.invalidQueueSize(3))
        #expect(mmio.read(VirtioMMIORegister.interruptStatus) == 0)
        #expect(transport.queueError == nil)
        bringUp()
        try #require(device.log.interrupt).queueBroken(.invalidQueueSize(3))
        #expect(transport.queueError == .invalidQueueSize(3))
        #expect(mmio.status & VirtioDeviceStatus.deviceNeedsReset != 0)
    }

    @Test("notifications before DRIVER_OK, or for a queue that is not ready or absent, are ignored")
    func notifyIgnored() {
        mmio.write(VirtioMMIORegister.queueNotify, 0)
        bringUp()
        mmio.write(VirtioMMIORegister.queueNotify, 1)
        mmio.write(VirtioMMIORegister.queueNotify, 7)
        #expect(device.log.processed.isEmpty)
    }

    @Test("a queue error sets DEVICE_NEEDS_RESET, raises a config interrupt, and stops processing")
    func queueError() {
        bringUp()
        device.answer(.fail(.chainTooLong(limit: 16)))
        mmio.write(VirtioMMIORegister.queueNotify, 0)
        #expect(mmio.status & VirtioDeviceStatus.deviceNeedsReset != 0)
        #expect(transport.queueError == .chainTooLong(limit: 16))
        #expect(mmio.read(VirtioMMIORegister.interruptStatus) == 2)
        #expect(interrupts.level)
        mmio.write(VirtioMMIORegister.queueNotify, 0)
        #expect(device.log.processed == [0])
        // The driver cannot clear the bit except by resetting.
        mmio.write(VirtioMMIORegister.status, 0b1111)
        #expect(mmio.status & VirtioDeviceStatus.deviceNeedsReset != 0)
    }

    @Test("invalid queue setup at DRIVER_OK marks the device needing reset instead of activating it")
    func invalidQueueAtDriverOK() {
        #expect(mmio.negotiate(features: VirtioFeature.version1))
        mmio.setUpQueue(0, size: 24, rings: rings)  // not a power of two
        mmio.driverOK()
        #expect(mmio.status & VirtioDeviceStatus.deviceNeedsReset != 0)
        #expect(transport.queueError == .invalidQueueSize(24))
        #expect(device.log.activations.isEmpty)
    }

    @Test("a queue larger than QueueNumMax is refused")
    func queueTooLarge() {
        #expect(mmio.negotiate(features: VirtioFeature.version1))
        mmio.setUpQueue(0, size: 128, rings: rings)
        mmio.driverOK()
        #expect(transport.queueError == .invalidQueueSize(128))
    }

    @Test("writing 0 to Status resets the device, the queues, features and interrupts")
    func reset() {
        bringUp()
        mmio.write(VirtioMMIORegister.queueNotify, 0)
        #expect(interrupts.level)
        mmio.write(VirtioMMIORegister.status, 0)
        #expect(device.log.resets == 1)
        #expect(mmio.status == 0)
        #expect(mmio.read(VirtioMMIORegister.interruptStatus) == 0)
        #expect(interrupts.history == [true, false])
        mmio.write(VirtioMMIORegister.queueSelect, 0)
        #expect(mmio.read(VirtioMMIORegister.queueReady) == 0)
        #expect(mmio.read(VirtioMMIORegister.queueSize) == 0)
        // And it comes back up.
        bringUp()
        #expect(device.log.activations.count == 2)
    }

    @Test("config space from 0x100 reaches the device at any width; the generation counts changes")
    func config() {
        #expect(transport.read(offset: 0x100, size: 1) == 0x10)
        #expect(transport.read(offset: 0x102, size: 2) == 0x1312)
        #expect(transport.read(offset: 0x100, size: 8) == 0x1716_1514_1312_1110)
        transport.write(offset: 0x104, size: 2, value: 0xBEEF)
        #expect(device.log.configWrites.count == 1)

        transport.configurationChanged()  // before DRIVER_OK: no interrupt
        #expect(mmio.read(VirtioMMIORegister.configGeneration) == 1)
        #expect(interrupts.history.isEmpty)
        bringUp()
        transport.configurationChanged()
        #expect(mmio.read(VirtioMMIORegister.configGeneration) == 2)
        #expect(mmio.read(VirtioMMIORegister.interruptStatus) == 2)
        #expect(interrupts.level)
    }

    @Test("any offset and size is safe", arguments: [1, 2, 3, 4, 8, 0, -1, 9])
    func fuzzOffsets(size: Int) {
        for offset in stride(from: UInt64(0), to: 0x1010, by: 1) {
            _ = transport.read(offset: offset, size: size)
        }
        _ = transport.read(offset: UInt64.max, size: size)
        transport.write(offset: UInt64.max, size: size, value: UInt64.max)
    }
}
