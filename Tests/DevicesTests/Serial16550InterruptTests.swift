import Testing

@testable import Devices

@Suite("16550A interrupts")
struct Serial16550InterruptTests {
    @Test("enabling ETBEI with THR empty raises THRE; reading IIR reports and clears it")
    func transmitterEmptyOnEnable() {
        let uart = UARTHarness()
        uart.enableFIFOs()
        uart.write(SerialRegister.interruptEnable, InterruptEnable.transmitterHoldingEmpty)
        #expect(uart.interruptLevels.all == [true])
        #expect(uart.read(SerialRegister.interruptIdentification) == 0xC2)
        #expect(uart.interruptLevels.all == [true, false])
        #expect(uart.read(SerialRegister.interruptIdentification) == 0xC1)
    }

    @Test("a THR write raises THRE again after it was acknowledged")
    func transmitterEmptyAfterWrite() {
        let uart = UARTHarness()
        uart.write(SerialRegister.interruptEnable, InterruptEnable.transmitterHoldingEmpty)
        _ = uart.read(SerialRegister.interruptIdentification)
        uart.write(SerialRegister.transmitterHolding, 0x41)
        #expect(uart.interruptLevels.all == [true, false, true])
        #expect(uart.read(SerialRegister.interruptIdentification) == 0x02)
        #expect(uart.transmitted.all == [0x41])
    }

    @Test("Linux's UART_BUG_THRE test: THRE is reasserted when ETBEI is enabled again")
    func transmitterEmptyReassertedOnReenable() {
        let uart = UARTHarness()
        uart.write(SerialRegister.interruptEnable, InterruptEnable.transmitterHoldingEmpty)
        let first = uart.read(SerialRegister.interruptIdentification)
        uart.write(SerialRegister.interruptEnable, 0)
        uart.write(SerialRegister.interruptEnable, InterruptEnable.transmitterHoldingEmpty)
        let second = uart.read(SerialRegister.interruptIdentification)
        uart.write(SerialRegister.interruptEnable, 0)
        #expect(first & 0x01 == 0)
        #expect(second & 0x01 == 0)
        #expect(second & 0x0E == 0x02)
    }

    @Test("writing IER again with ETBEI already set does not raise a new THRE")
    func transmitterEmptyOnlyOnEnableEdge() {
        let uart = UARTHarness()
        uart.write(SerialRegister.interruptEnable, InterruptEnable.transmitterHoldingEmpty)
        _ = uart.read(SerialRegister.interruptIdentification)
        uart.write(SerialRegister.interruptEnable, InterruptEnable.transmitterHoldingEmpty)
        #expect(uart.read(SerialRegister.interruptIdentification) == 0x01)
    }

    @Test("received data outranks THRE; IIR read while RDA shows leaves THRE pending")
    func receivedDataOutranksTransmitter() {
        let uart = UARTHarness()
        uart.enableFIFOs()
        uart.write(
            SerialRegister.interruptEnable,
            InterruptEnable.receivedDataAvailable | InterruptEnable.transmitterHoldingEmpty)
        #expect(uart.uart.enqueueInput([0x61, 0x62]) == 2)
        #expect(uart.read(SerialRegister.interruptIdentification) == 0xC4)
        #expect(uart.read(SerialRegister.interruptIdentification) == 0xC4)
        #expect(uart.read(SerialRegister.receiverBuffer) == 0x61)
        #expect(uart.read(SerialRegister.interruptIdentification) == 0xC4)
        #expect(uart.read(SerialRegister.receiverBuffer) == 0x62)
        #expect(uart.read(SerialRegister.interruptIdentification) == 0xC2)
        #expect(uart.read(SerialRegister.interruptIdentification) == 0xC1)
        // High from the IER write until the THRE report was read: one rise, one fall.
        #expect(uart.interruptLevels.all == [true, false])
    }

    @Test("the line callback fires only when the level changes")
    func lineChangesOnly() {
        let uart = UARTHarness()
        uart.enableFIFOs()
        uart.write(SerialRegister.interruptEnable, InterruptEnable.receivedDataAvailable)
        _ = uart.uart.enqueueInput([1])
        _ = uart.uart.enqueueInput([2])
        _ = uart.uart.enqueueInput([3, 4])
        #expect(uart.interruptLevels.all == [true])
        _ = uart.read(SerialRegister.receiverBuffer)
        _ = uart.read(SerialRegister.lineStatus)
        _ = uart.read(SerialRegister.interruptIdentification)
        #expect(uart.interruptLevels.all == [true])
        for _ in 0..<3 { _ = uart.read(SerialRegister.receiverBuffer) }
        #expect(uart.interruptLevels.all == [true, false])
        _ = uart.read(SerialRegister.receiverBuffer)
        #expect(uart.interruptLevels.all == [true, false])
    }

    @Test("disabling a pending source in IER lowers the line; enabling it raises it")
    func maskingPendingSource() {
        let uart = UARTHarness()
        _ = uart.uart.enqueueInput([0x31])
        #expect(uart.interruptLevels.all.isEmpty, "not enabled yet")
        uart.write(SerialRegister.interruptEnable, InterruptEnable.receivedDataAvailable)
        uart.write(SerialRegister.interruptEnable, 0)
        uart.write(SerialRegister.interruptEnable, InterruptEnable.receivedDataAvailable)
        #expect(uart.interruptLevels.all == [true, false, true])
    }

    @Test("an overrun with ELSI interrupts as receiver line status, which outranks data; LSR read clears it")
    func receiverLineStatusInterrupt() {
        let uart = UARTHarness()
        uart.enableFIFOs()
        uart.write(
            SerialRegister.interruptEnable,
            InterruptEnable.receiverLineStatus | InterruptEnable.receivedDataAvailable)
        let offered = [UInt8](repeating: 0x7A, count: Serial16550.receiveFIFOCapacity + 1)
        #expect(uart.uart.enqueueInput(offered) == Serial16550.receiveFIFOCapacity)
        #expect(uart.read(SerialRegister.interruptIdentification) == 0xC6)
        #expect(uart.read(SerialRegister.lineStatus) == 0x63)
        #expect(uart.read(SerialRegister.interruptIdentification) == 0xC4)
    }

    @Test("modem status changes interrupt with EDSSI at the lowest priority; MSR read clears them")
    func modemStatusInterrupt() {
        let uart = UARTHarness()
        uart.write(SerialRegister.interruptEnable, InterruptEnable.modemStatus)
        #expect(uart.interruptLevels.all.isEmpty)
        // Entering loopback with all outputs off drops CTS, DSR and DCD.
        uart.write(SerialRegister.modemControl, ModemControl.loopback)
        #expect(uart.interruptLevels.all == [true])
        #expect(uart.read(SerialRegister.interruptIdentification) == 0x00)
        #expect(uart.read(SerialRegister.modemStatus) == 0x0B)
        #expect(uart.interruptLevels.all == [true, false])
        #expect(uart.read(SerialRegister.modemStatus) == 0x00)
    }

    @Test("the delivered line level matches the UART after racing input and guest reads")
    func concurrentLevelDelivery() async {
        let uart = UARTHarness()
        uart.enableFIFOs()
        uart.write(SerialRegister.interruptEnable, InterruptEnable.receivedDataAvailable)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for index in 0..<2000 {
                    _ = uart.uart.enqueueInput([UInt8(truncatingIfNeeded: index)])
                }
            }
            group.addTask {
                for _ in 0..<2000 {
                    _ = uart.read(SerialRegister.receiverBuffer)
                }
            }
        }
        let levels = uart.interruptLevels.all
        for (previous, next) in zip(levels, levels.dropFirst()) {
            #expect(previous != next, "two deliveries of the same level in a row")
        }
        let pending = uart.read(SerialRegister.interruptIdentification) & 0x01 == 0
        #expect(uart.lineLevel == pending)
    }
}
