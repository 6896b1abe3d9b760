import Testing

@testable import Devices

@Suite("16550A registers")
struct Serial16550RegisterTests {
    @Test("power-on values: LSR THRE|TEMT, no interrupt, modem present, divisor 12")
    func resetValues() {
        let uart = UARTHarness()
        #expect(uart.read(SerialRegister.lineStatus) == 0x60)
        #expect(uart.read(SerialRegister.interruptIdentification) == 0x01)
        #expect(uart.read(SerialRegister.interruptEnable) == 0)
        #expect(uart.read(SerialRegister.lineControl) == 0)
        #expect(uart.read(SerialRegister.modemControl) == 0)
        #expect(uart.read(SerialRegister.modemStatus) == 0xB0)
        #expect(uart.read(SerialRegister.scratch) == 0)
        uart.write(SerialRegister.lineControl, LineControl.divisorLatchAccess)
        #expect(uart.read(SerialRegister.divisorLatchLow) == 0x0C)
        #expect(uart.read(SerialRegister.divisorLatchHigh) == 0)
        #expect(uart.uart.inputSpace == 1)
        #expect(uart.interruptLevels.all.isEmpty)
    }

    @Test("LCR.DLAB switches offsets 0 and 1 between DLL/DLM and RBR/THR/IER")
    func divisorLatchSwitching() {
        let uart = UARTHarness()
        uart.write(SerialRegister.lineControl, 0x80 | 0x03)
        uart.write(SerialRegister.divisorLatchLow, 0x01)
        uart.write(SerialRegister.divisorLatchHigh, 0x02)
        #expect(uart.transmitted.all.isEmpty, "a DLL write is not a THR write")
        #expect(uart.read(SerialRegister.interruptEnable) == 0x02, "DLM, not IER")
        #expect(uart.read(SerialRegister.lineControl) == 0x83)

        uart.write(SerialRegister.lineControl, 0x03)
        #expect(uart.read(SerialRegister.interruptEnable) == 0, "IER untouched by the DLM write")
        uart.write(SerialRegister.interruptEnable, 0x05)
        #expect(uart.uart.enqueueInput([0x41]) == 1)
        #expect(uart.read(SerialRegister.receiverBuffer) == 0x41)

        _ = uart.uart.enqueueInput([0x42])
        uart.write(SerialRegister.lineControl, 0x83)
        #expect(uart.read(SerialRegister.divisorLatchLow) == 0x01, "DLL, and the received byte stays")
        #expect(uart.read(SerialRegister.divisorLatchHigh) == 0x02)
        uart.write(SerialRegister.lineControl, 0x03)
        #expect(uart.read(SerialRegister.interruptEnable) == 0x05)
        #expect(uart.read(SerialRegister.receiverBuffer) == 0x42)
    }

    @Test("THR writes go to the output sink in order; LSR stays THRE|TEMT")
    func transmitToSink() {
        let uart = UARTHarness()
        for byte in "hello\n".utf8 {
            uart.write(SerialRegister.transmitterHolding, byte)
            #expect(uart.read(SerialRegister.lineStatus) == 0x60)
        }
        #expect(uart.transmitted.all == Array("hello\n".utf8))
    }

    @Test("IER keeps only bits 0–3 (Linux's XScale UUE probe must fail)")
    func interruptEnableImplementedBits() {
        let uart = UARTHarness()
        uart.write(SerialRegister.interruptEnable, 0x0F)
        #expect(uart.read(SerialRegister.interruptEnable) == 0x0F)
        uart.write(SerialRegister.interruptEnable, 0x40)
        #expect(uart.read(SerialRegister.interruptEnable) == 0)
    }

    @Test("MCR keeps only bits 0–4")
    func modemControlImplementedBits() {
        let uart = UARTHarness()
        uart.write(SerialRegister.modemControl, 0xEB)
        #expect(uart.read(SerialRegister.modemControl) == 0x0B)
    }

    @Test("the scratch register holds any byte and has no effect")
    func scratchRegister() {
        let uart = UARTHarness()
        for value: UInt8 in [0x00, 0x55, 0xAA, 0xFF] {
            uart.write(SerialRegister.scratch, value)
            #expect(uart.read(SerialRegister.scratch) == value)
        }
        #expect(uart.transmitted.all.isEmpty)
        #expect(uart.interruptLevels.all.isEmpty)
    }

    @Test("IIR shows 0xC0 only with FIFOs enabled, and never the 16750's 64-byte bit")
    func fifoModeInIdentification() {
        let uart = UARTHarness()
        #expect(uart.read(SerialRegister.interruptIdentification) == 0x01)
        uart.write(SerialRegister.fifoControl, 0x01)
        #expect(uart.read(SerialRegister.interruptIdentification) == 0xC1)
        uart.write(SerialRegister.fifoControl, 0x21)
        #expect(uart.read(SerialRegister.interruptIdentification) == 0xC1)
        uart.write(SerialRegister.fifoControl, 0x00)
        #expect(uart.read(SerialRegister.interruptIdentification) == 0x01)
    }

    @Test("LSR and MSR ignore writes")
    func readOnlyRegisters() {
        let uart = UARTHarness()
        uart.write(SerialRegister.lineStatus, 0x00)
        uart.write(SerialRegister.modemStatus, 0x00)
        #expect(uart.read(SerialRegister.lineStatus) == 0x60)
        #expect(uart.read(SerialRegister.modemStatus) == 0xB0)
    }

    @Test("a wide access is split into byte registers at consecutive offsets")
    func wideAccess() {
        let uart = UARTHarness()
        uart.write(SerialRegister.modemControl, 0x0B)
        // MCR at offset 4, LSR at 5, MSR at 6, SCR at 7.
        #expect(uart.uart.read(offset: 4, size: 4) == 0x00B0_600B)
        // A word write at offset 0: THR then IER.
        uart.uart.write(offset: 0, size: 2, value: 0x0041)
        #expect(uart.transmitted.all == [0x41])
        #expect(uart.read(SerialRegister.interruptEnable) == 0)
    }

    @Test("offsets past the eight registers read as absent and ignore writes")
    func outOfRangeOffsets() {
        let uart = UARTHarness()
        #expect(uart.uart.read(offset: 8, size: 1) == 0xFF)
        #expect(uart.uart.read(offset: 7, size: 2) == 0xFF00)
        #expect(uart.uart.read(offset: UInt64.max, size: 2) == 0xFFFF)
        uart.uart.write(offset: 9, size: 1, value: 0x41)
        uart.uart.write(offset: UInt64.max, size: 8, value: 0x41)
        #expect(uart.transmitted.all.isEmpty)
        #expect(uart.uart.read(offset: 0, size: 0) == 0)
    }

    @Test("Linux's 8250 autoconfig sequence identifies a 16550A")
    func linuxAutoconfig() {
        let uart = UARTHarness()
        // IER probe (8250_port.c autoconfig): 0 then 0x0F must read back in the low nibble.
        let savedIER = uart.read(SerialRegister.interruptEnable)
        uart.write(SerialRegister.interruptEnable, 0)
        #expect(uart.read(SerialRegister.interruptEnable) & 0x0F == 0)
        uart.write(SerialRegister.interruptEnable, 0x0F)
        #expect(uart.read(SerialRegister.interruptEnable) & 0x0F == 0x0F)
        uart.write(SerialRegister.interruptEnable, savedIER)
        // Loopback probe: MCR = LOOP|OUT2|RTS must give MSR high nibble 0x90.
        let savedMCR = uart.read(SerialRegister.modemControl)
        uart.write(SerialRegister.modemControl, 0x1A)
        #expect(uart.read(SerialRegister.modemStatus) & 0xF0 == 0x90)
        uart.write(SerialRegister.modemControl, savedMCR)
        // EFR write under LCR 0xBF lands in FCR; then FIFO enable and IIR >> 6 == 3 means 16550-family.
        uart.write(SerialRegister.lineControl, 0xBF)
        uart.write(SerialRegister.fifoControl, 0)
        uart.write(SerialRegister.lineControl, 0)
        uart.write(SerialRegister.fifoControl, FIFOControl.enable)
        #expect(uart.read(SerialRegister.interruptIdentification) >> 6 == 3)
        // EFR probes under LCR 0x80 / 0xBF read offset 2 and must not see 0 (not a ST16C650 / 16C950).
        uart.write(SerialRegister.lineControl, 0x80)
        #expect(uart.read(2) != 0)
        uart.write(SerialRegister.lineControl, 0xBF)
        #expect(uart.read(2) != 0)
        // 16750 probe: FCR bit 5 with DLAB set must not show IIR bit 5.
        uart.write(SerialRegister.lineControl, 0x80)
        uart.write(SerialRegister.fifoControl, 0x21)
        #expect(uart.read(SerialRegister.interruptIdentification) & 0xE0 == 0xC0)
        uart.write(SerialRegister.lineControl, 0)
    }
}
