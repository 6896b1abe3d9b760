import Testing

@testable import Devices

@Suite("ACPI PM1 and reset registers")
struct ACPIPowerDeviceTests {
    let powerOffs = CallCounter()
    let resets = CallCounter()
    let device: ACPIPowerDevice

    init() {
        let powerOffs = powerOffs
        let resets = resets
        device = ACPIPowerDevice(onPowerOff: { powerOffs.increment() }, onReset: { resets.increment() })
    }

    @Test("Linux's 16-bit PM1_CNT write of SLP_TYP 5 | SLP_EN (0x3400) powers off")
    func softOff() {
        device.write(offset: ACPIPowerRegister.controlLow, size: 2, value: 0x1400)  // SLP_TYP first
        #expect(powerOffs.count == 0)
        device.write(offset: ACPIPowerRegister.controlLow, size: 2, value: 0x3400)
        #expect(powerOffs.count == 1)
        #expect(resets.count == 0)
    }

    @Test(
        "other sleep types, or SLP_TYP 5 without SLP_EN, are ignored",
        arguments: [0x20 | (3 << 2), 0x20 | (1 << 2), 0x20 | (4 << 2), 0x20, 0x14, 0x00, 0x3C] as [UInt64])
    func otherSleepTypesIgnored(value: UInt64) {
        device.write(offset: ACPIPowerRegister.controlHigh, size: 1, value: value)
        #expect(powerOffs.count == 0)
        #expect(resets.count == 0)
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

    @Test("SCI_EN reads set, PM1_EN reads back, status reads 0, past the block reads as absent")
    func reads() {
        #expect(device.read(offset: ACPIPowerRegister.controlLow, size: 2) == 0x0001)
        device.write(offset: ACPIPowerRegister.enable, size: 2, value: 0x0100)  // PWRBTN_EN
        #expect(device.read(offset: ACPIPowerRegister.enable, size: 2) == 0x0100)
        device.write(offset: ACPIPowerRegister.status, size: 2, value: 0xFFFF)  // write-1-to-clear
        #expect(device.read(offset: ACPIPowerRegister.status, size: 2) == 0)
        #expect(device.read(offset: 7, size: 1) == 0xFF)
        #expect(powerOffs.count == 0 && resets.count == 0)
    }

    @Test("the power button: PWRBTN_STS is set, the SCI follows STS & EN, write-1-to-clear drops it")
    func powerButton() {
        let levels = Recorder<Bool>()
        let device = ACPIPowerDevice(onPowerOff: {}, onReset: {}, systemControlInterrupt: { levels.record($0) })
        // Pressed before the guest's button driver enabled the event: status only, no interrupt.
        device.pressPowerButton()
        #expect(device.read(offset: ACPIPowerRegister.status, size: 2) == 0x0100)
        #expect((levels.all.last ?? false) == false)
        #expect(!device.powerButtonEnabled)
        // Clearing it (ACPICA clears stale status when it enables an event), then enabling.
        device.write(offset: ACPIPowerRegister.status, size: 2, value: 0x0100)
        device.write(offset: ACPIPowerRegister.enable, size: 2, value: 0x0100)
        #expect(device.powerButtonEnabled)
        #expect((levels.all.last ?? false) == false)
        device.pressPowerButton()
        #expect((levels.all.last ?? false) == true)
        #expect(device.read(offset: ACPIPowerRegister.status + 1, size: 1) == 0x01)
        // Writing 0 bits, or other bits, clears nothing; the bit itself does.
        device.write(offset: ACPIPowerRegister.status, size: 2, value: 0x00FF)
        #expect((levels.all.last ?? false) == true)
        device.write(offset: ACPIPowerRegister.status + 1, size: 1, value: 0x01)
        #expect((levels.all.last ?? false) == false)
        #expect(device.read(offset: ACPIPowerRegister.status, size: 2) == 0)
        // Disabling the event with status pending lowers the line too.
        device.pressPowerButton()
        #expect((levels.all.last ?? false) == true)
        device.write(offset: ACPIPowerRegister.enable, size: 2, value: 0)
        #expect((levels.all.last ?? false) == false)
        #expect(device.read(offset: ACPIPowerRegister.status, size: 2) == 0x0100)
    }

    @Test("status bits of events that do not exist cannot be set or raise the SCI")
    func unimplementedStatusBits() {
        let levels = Recorder<Bool>()
        let device = ACPIPowerDevice(onPowerOff: {}, onReset: {}, systemControlInterrupt: { levels.record($0) })
        device.write(offset: ACPIPowerRegister.enable, size: 2, value: 0xFFFF)
        #expect((levels.all.last ?? false) == false)
        #expect(device.read(offset: ACPIPowerRegister.status, size: 2) == 0)
    }

    @Test("the FADT's layout through the PIO bus: PM1a_EVT 0x600, PM1a_CNT 0x604, reset 0x606")
    func throughBus() throws {
        let bus = Bus()
        try bus.insert(device, base: 0x600, length: ACPIPowerDevice.rangeLength)
        bus.seal()
        bus.write(address: 0x604, size: 2, value: 0x3400)
        #expect(powerOffs.count == 1)
        bus.write(address: 0x606, size: 1, value: 0x01)
        #expect(resets.count == 1)
        #expect(bus.read(address: 0x607, size: 1) == 0xFF)
    }
}
