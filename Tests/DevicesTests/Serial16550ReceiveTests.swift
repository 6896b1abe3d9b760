import Testing

@testable import Devices

@Suite("16550A receiver and loopback")
struct Serial16550ReceiveTests {
    @Test("the 64-byte FIFO fills, reports space, and returns bytes in order")
    func fifoFillAndDrain() {
        let uart = UARTHarness()
        uart.enableFIFOs()
        #expect(uart.uart.inputSpace == 64)
        let input = (0..<64).map { UInt8($0) }
        #expect(uart.uart.enqueueInput(input) == 64)
        #expect(uart.uart.inputSpace == 0)
        #expect(uart.read(SerialRegister.lineStatus) == 0x61, "DR, no overrun when exactly full")
        var received: [UInt8] = []
        while uart.read(SerialRegister.lineStatus) & LineStatus.dataReady != 0, received.count < 100 {
            received.append(uart.read(SerialRegister.receiverBuffer))
        }
        #expect(received == input)
        #expect(uart.read(SerialRegister.lineStatus) == 0x60)
        #expect(uart.uart.inputSpace == 64)
    }

    @Test("input beyond the FIFO is dropped and sets LSR.OE until LSR is read")
    func overrun() {
        let uart = UARTHarness()
        uart.enableFIFOs()
        #expect(uart.uart.enqueueInput([UInt8](repeating: 1, count: 60)) == 60)
        #expect(uart.uart.enqueueInput([UInt8](repeating: 2, count: 10)) == 4)
        #expect(uart.read(SerialRegister.lineStatus) == 0x63)
        #expect(uart.read(SerialRegister.lineStatus) == 0x61, "OE clears on read")
        #expect(uart.uart.enqueueInput([3]) == 0)
        #expect(uart.read(SerialRegister.lineStatus) & LineStatus.overrunError != 0)
        #expect(uart.uart.enqueueInput([UInt8]()) == 0)
        #expect(uart.read(SerialRegister.lineStatus) & LineStatus.overrunError == 0, "offering nothing is no overrun")
    }

    @Test("without FIFOs the receiver holds one byte (16450 mode)")
    func nonFIFOMode() {
        let uart = UARTHarness()
        #expect(uart.uart.inputSpace == 1)
        #expect(uart.uart.enqueueInput([0x41, 0x42]) == 1)
        #expect(uart.read(SerialRegister.lineStatus) == 0x63)
        #expect(uart.read(SerialRegister.receiverBuffer) == 0x41)
        #expect(uart.read(SerialRegister.lineStatus) == 0x60)
    }

    @Test("FCR clear-receiver empties the FIFO; toggling FIFO enable empties it; clear without enable does not")
    func fifoControlClears() {
        let uart = UARTHarness()
        uart.enableFIFOs()
        _ = uart.uart.enqueueInput([1, 2, 3])
        uart.write(
            SerialRegister.fifoControl,
            FIFOControl.enable | FIFOControl.clearReceiver | FIFOControl.clearTransmitter)
        #expect(uart.read(SerialRegister.lineStatus) == 0x60)
        #expect(uart.uart.inputSpace == 64)

        _ = uart.uart.enqueueInput([4, 5])
        uart.write(SerialRegister.fifoControl, FIFOControl.enable)
        #expect(uart.read(SerialRegister.lineStatus) & LineStatus.dataReady != 0, "rewriting enable keeps data")
        uart.write(SerialRegister.fifoControl, 0)
        #expect(uart.read(SerialRegister.lineStatus) == 0x60, "disabling FIFOs clears them")

        _ = uart.uart.enqueueInput([6])
        uart.write(SerialRegister.fifoControl, FIFOControl.clearReceiver)
        #expect(uart.read(SerialRegister.receiverBuffer) == 6, "FCR bits need FCR0 set")
    }

    @Test("clearing the FIFO lowers a pending data interrupt")
    func clearLowersInterrupt() {
        let uart = UARTHarness()
        uart.enableFIFOs()
        uart.write(SerialRegister.interruptEnable, InterruptEnable.receivedDataAvailable)
        _ = uart.uart.enqueueInput([1])
        uart.write(SerialRegister.fifoControl, FIFOControl.enable | FIFOControl.clearReceiver)
        #expect(uart.interruptLevels.all == [true, false])
    }

    @Test("inputSpaceAvailable fires when a full receiver gets room again")
    func inputSpaceNotification() {
        let uart = UARTHarness()
        uart.enableFIFOs()
        _ = uart.uart.enqueueInput([UInt8](repeating: 0, count: 64))
        #expect(uart.spaceNotifications.count == 0)
        _ = uart.read(SerialRegister.receiverBuffer)
        #expect(uart.spaceNotifications.count == 1)
        _ = uart.read(SerialRegister.receiverBuffer)
        #expect(uart.spaceNotifications.count == 1, "only on the change from full")
        _ = uart.uart.enqueueInput([0, 0])
        uart.write(SerialRegister.fifoControl, FIFOControl.enable | FIFOControl.clearReceiver)
        #expect(uart.spaceNotifications.count == 2)
    }

    @Test("loopback: MCR 0x1A gives MSR 0x90; outputs map to CTS, DSR, RI, DCD")
    func loopbackModemLines() {
        let uart = UARTHarness()
        uart.write(SerialRegister.modemControl, 0x1A)
        #expect(uart.read(SerialRegister.modemStatus) & 0xF0 == 0x90)
        uart.write(SerialRegister.modemControl, ModemControl.loopback | ModemControl.dataTerminalReady)
        #expect(uart.read(SerialRegister.modemStatus) & 0xF0 == ModemStatus.dataSetReady)
        uart.write(SerialRegister.modemControl, ModemControl.loopback | ModemControl.out1)
        #expect(uart.read(SerialRegister.modemStatus) & 0xF0 == ModemStatus.ringIndicator)
        uart.write(SerialRegister.modemControl, 0x1F)
        #expect(uart.read(SerialRegister.modemStatus) & 0xF0 == 0xF0)
        uart.write(SerialRegister.modemControl, 0x0B)
        #expect(uart.read(SerialRegister.modemStatus) & 0xF0 == 0xB0, "outside loopback the modem is always there")
    }

    @Test("MSR change bits: DCTS/DDSR/DDCD on change, TERI only when RI turns off")
    func modemStatusChanges() {
        let uart = UARTHarness()
        uart.write(SerialRegister.modemControl, 0x1F)
        _ = uart.read(SerialRegister.modemStatus)
        // RI turns off; CTS, DSR and DCD stay on.
        uart.write(
            SerialRegister.modemControl,
            ModemControl.loopback | ModemControl.requestToSend | ModemControl.dataTerminalReady | ModemControl.out2)
        #expect(uart.read(SerialRegister.modemStatus) == 0xB0 | ModemStatus.trailingEdgeRingIndicator)
        uart.write(SerialRegister.modemControl, 0x1F)
        #expect(uart.read(SerialRegister.modemStatus) == 0xF0, "RI turning on is no TERI")
        uart.write(SerialRegister.modemControl, ModemControl.loopback | ModemControl.out1)
        #expect(uart.read(SerialRegister.modemStatus) == ModemStatus.ringIndicator | 0x0B)
    }

    @Test("loopback: THR writes come back through RBR, not the sink; the line input is disconnected")
    func loopbackData() {
        let uart = UARTHarness()
        uart.enableFIFOs()
        uart.write(SerialRegister.modemControl, 0x1A)
        uart.write(SerialRegister.transmitterHolding, 0x55)
        uart.write(SerialRegister.transmitterHolding, 0xAA)
        #expect(uart.transmitted.all.isEmpty)
        #expect(uart.read(SerialRegister.lineStatus) == 0x61)
        #expect(uart.uart.inputSpace == 0)
        #expect(uart.uart.enqueueInput([0x01]) == 0)
        #expect(uart.read(SerialRegister.lineStatus) & LineStatus.overrunError == 0)
        #expect(uart.read(SerialRegister.receiverBuffer) == 0x55)
        #expect(uart.read(SerialRegister.receiverBuffer) == 0xAA)

        uart.write(SerialRegister.modemControl, 0x0B)
        #expect(uart.spaceNotifications.count == 1, "leaving loopback reconnects the input")
        #expect(uart.uart.inputSpace == 64)
        uart.write(SerialRegister.transmitterHolding, 0x42)
        #expect(uart.transmitted.all == [0x42])
        #expect(uart.read(SerialRegister.lineStatus) == 0x60)
    }

    @Test("loopback THR writes into a full receiver overrun")
    func loopbackOverrun() {
        let uart = UARTHarness()
        uart.write(SerialRegister.modemControl, ModemControl.loopback)
        uart.write(SerialRegister.transmitterHolding, 1)
        uart.write(SerialRegister.transmitterHolding, 2)
        #expect(uart.read(SerialRegister.lineStatus) == 0x63)
        #expect(uart.read(SerialRegister.receiverBuffer) == 1)
    }
}
