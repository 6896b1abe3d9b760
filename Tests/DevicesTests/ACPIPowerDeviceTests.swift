import Testing

@testable import Devices

@Suite("ACPI power registers")
struct ACPIPowerDeviceTests {
    let powerOffs = CallCounter()
    let resets = CallCounter()
    let device: ACPIPowerDevice

    init() {
        let powerOffs = powerOffs
        let resets = resets
        device = ACPIPowerDevice(onPowerOff: { powerOffs.increment() }, onReset: { resets.increment() })
    }

    @Test("SLP_EN with SLP_TYP 5 (0x34) powers off")
    func softOff() {
        device.write(offset: ACPIPowerRegister.sleepControl, size: 1, value: 0x34)
        #expect(powerOffs.count == 1)
        #expect(resets.count == 0)
    }

    @Test("other sleep types, or SLP_TYP 5 without SLP_EN, are ignored",
          arguments: [0x20 | (3 << 2), 0x20 | (1 << 2), 0x20 | (4 << 2), 0x20, 0x14, 0x00, 0x3C] as [UInt64])
    func otherSleepTypesIgnored(value: UInt64) {
        device.write(offset: ACPIPowerRegister.sleepControl, size: 1, value: value)
        #expect(powerOffs.count == 0)
        #expect(resets.count == 0)
    }

    @Test("reserved bits do not stop a soft-off request")
    func reservedBitsIgnored() {
        device.write(offset: ACPIPowerRegister.sleepControl, size: 1, value: 0x34 | 0x01)
        #expect(powerOffs.count == 1)
    }

    @Test("the reset value 0x01 resets; other values do not")
    func reset() {
        device.write(offset: ACPIPowerRegister.reset, size: 1, value: 0x02)
        device.write(offset: ACPIPowerRegister.reset, size: 1, value: 0x00)
        #expect(resets.count == 0)
        device.write(offset: ACPIPowerRegister.reset, size: 1, value: 0x01)
        #expect(resets.count == 1)
        #expect(powerOffs.count == 0)
    }

    @Test("registers read 0; clearing WAK_STS does nothing; past the registers reads as absent")
    func reads() {
        device.write(offset: ACPIPowerRegister.sleepStatus, size: 1, value: 0x80)
        #expect(device.read(offset: 0, size: 1) == 0)
        #expect(device.read(offset: 1, size: 1) == 0)
        #expect(device.read(offset: 2, size: 1) == 0)
        #expect(device.read(offset: 3, size: 1) == 0xFF)
        #expect(device.read(offset: 0, size: 4) == 0xFF00_0000)
        #expect(powerOffs.count == 0 && resets.count == 0)
    }

    @Test("the FADT's layout through the PIO bus: 0x600 sleep control, 0x602 reset")
    func throughBus() throws {
        let bus = Bus()
        try bus.insert(device, base: 0x600, length: ACPIPowerDevice.rangeLength)
        bus.seal()
        bus.write(address: 0x601, size: 1, value: 0x80)
        bus.write(address: 0x600, size: 1, value: 0x34)
        #expect(powerOffs.count == 1)
        bus.write(address: 0x602, size: 1, value: 0x01)
        #expect(resets.count == 1)
        #expect(bus.read(address: 0x603, size: 1) == 0xFF)
    }
}
