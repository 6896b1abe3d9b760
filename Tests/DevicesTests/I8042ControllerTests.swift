import Testing

@testable import Devices

@Suite("i8042 controller")
struct I8042ControllerTests {
    let resets = CallCounter()
    let controller: I8042Controller

    init() {
        let resets = resets
        controller = I8042Controller(onReset: { resets.increment() })
    }

    func status() -> UInt64 { controller.read(offset: I8042Register.statusCommand, size: 1) }
    func data() -> UInt64 { controller.read(offset: I8042Register.data, size: 1) }
    func command(_ value: UInt64) { controller.write(offset: I8042Register.statusCommand, size: 1, value: value) }
    func writeData(_ value: UInt64) { controller.write(offset: I8042Register.data, size: 1, value: value) }

    @Test("status after power-on: no data, system flag, not inhibited")
    func initialStatus() {
        #expect(status() == 0x1C)
    }

    @Test("command 0xFE pulses the reset line")
    func pulseReset() {
        command(0xFE)
        #expect(resets.count == 1)
        command(0xFF)
        #expect(resets.count == 1, "0xFF pulses no line")
        command(0xF0)
        #expect(resets.count == 2, "any pulse command with bit 0 clear includes reset")
    }

    @Test("self test answers 0x55 through the output buffer")
    func selfTest() {
        command(0xAA)
        #expect(status() & 0x01 == 0x01)
        #expect(data() == 0x55)
        #expect(status() & 0x01 == 0)
        #expect(resets.count == 0)
    }

    @Test("keyboard interface test answers 0x00")
    func interfaceTest() {
        command(0xAB)
        #expect(status() & 0x01 == 0x01)
        #expect(data() == 0x00)
    }

    @Test("command byte: 0x20 reads it, 0x60 takes the next data byte")
    func commandByte() {
        command(0x20)
        #expect(data() == 0x44)
        command(0x60)
        writeData(0x41)
        #expect(status() == 0x10, "data write clears A2; the new command byte has no system flag")
        command(0x20)
        #expect(data() == 0x41)
        #expect(resets.count == 0)
    }

    @Test("0xAD/0xAE and unknown commands are ignored")
    func ignoredCommands() {
        for value: UInt64 in [0xAD, 0xAE, 0xA7, 0xA8, 0xD4, 0x00] {
            command(value)
            #expect(status() == 0x1C)
        }
        writeData(0xFF)
        #expect(status() == 0x14, "a keyboard byte with no keyboard changes only A2")
        #expect(resets.count == 0)
    }

    @Test("writing the output port with the reset bit clear resets")
    func outputPortReset() {
        command(0xD1)
        writeData(0xFF)
        #expect(resets.count == 0)
        command(0xD1)
        writeData(0xFE)
        #expect(resets.count == 1)
        writeData(0xFE)
        #expect(resets.count == 1, "the data byte belongs to one command only")
    }

    @Test("an empty output buffer reads the last byte again; offsets 1–3 are absent")
    func emptyBufferAndGaps() {
        command(0xAA)
        #expect(data() == 0x55)
        #expect(data() == 0x55)
        #expect(controller.read(offset: 1, size: 1) == 0xFF)
        #expect(controller.read(offset: 3, size: 1) == 0xFF)
        controller.write(offset: 2, size: 1, value: 0xFE)
        #expect(resets.count == 0)
    }

    @Test("Linux's keyboard reboot through the PIO bus at 0x60")
    func rebootThroughBus() throws {
        let bus = Bus()
        try bus.insert(controller, base: 0x60, length: I8042Controller.rangeLength)
        bus.seal()
        #expect(bus.read(address: 0x64, size: 1) & 0x02 == 0, "input buffer empty: kb_wait passes")
        bus.write(address: 0x64, size: 1, value: 0xFE)
        #expect(resets.count == 1)
    }
}
