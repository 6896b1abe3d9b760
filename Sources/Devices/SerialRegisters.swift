// Register map of the 16550A UART: TI PC16550D datasheet, "Register Description" (Table 2), and the same
// names in Linux include/uapi/linux/serial_reg.h. All registers are one byte wide.

/// Register offsets from the UART's base port. Offsets 0 and 1 depend on LCR.DLAB.
enum SerialRegister {
    /// RBR (read, DLAB=0): oldest byte in the receive FIFO.
    static let receiverBuffer: UInt64 = 0
    /// THR (write, DLAB=0): byte to transmit.
    static let transmitterHolding: UInt64 = 0
    /// DLL (DLAB=1): baud-rate divisor, low byte.
    static let divisorLatchLow: UInt64 = 0
    /// IER (DLAB=0): which interrupt sources may raise the line.
    static let interruptEnable: UInt64 = 1
    /// DLM (DLAB=1): baud-rate divisor, high byte.
    static let divisorLatchHigh: UInt64 = 1
    /// IIR (read): highest-priority pending interrupt and FIFO mode.
    static let interruptIdentification: UInt64 = 2
    /// FCR (write): FIFO enable, FIFO resets, receive trigger level.
    static let fifoControl: UInt64 = 2
    /// LCR: word length, parity, stop bits; bit 7 is DLAB.
    static let lineControl: UInt64 = 3
    /// MCR: DTR, RTS, OUT1, OUT2 outputs and loopback mode.
    static let modemControl: UInt64 = 4
    /// LSR (read): receiver and transmitter status.
    static let lineStatus: UInt64 = 5
    /// MSR (read): modem input lines and their change bits.
    static let modemStatus: UInt64 = 6
    /// SCR: a byte of RAM with no effect; used by drivers to probe for the chip.
    static let scratch: UInt64 = 7
    /// Number of consecutive ports the UART decodes.
    static let count: UInt64 = 8
}

/// IER bits. Bits 4–7 are not implemented on a 16550A and read as 0 (Linux probes this: XScale UUE bit 6).
enum InterruptEnable {
    /// ERBFI: interrupt while received data is available.
    static let receivedDataAvailable: UInt8 = 0x01
    /// ETBEI: interrupt when the transmitter holding register is empty.
    static let transmitterHoldingEmpty: UInt8 = 0x02
    /// ELSI: interrupt on receiver line status errors (here: overrun).
    static let receiverLineStatus: UInt8 = 0x04
    /// EDSSI: interrupt on a modem status change (MSR bits 0–3).
    static let modemStatus: UInt8 = 0x08
    /// The bits a 16550A stores.
    static let implementedBits: UInt8 = 0x0F
}

/// IIR values. Bit 0 is 0 when an interrupt is pending; bits 1–3 name the source; bits 6–7 show FIFO mode.
enum InterruptIdentification {
    /// No interrupt pending.
    static let noInterruptPending: UInt8 = 0x01
    /// Receiver line status (priority 1): cleared by reading LSR.
    static let receiverLineStatus: UInt8 = 0x06
    /// Received data available (priority 2): cleared when the FIFO is read empty.
    static let receivedDataAvailable: UInt8 = 0x04
    /// Transmitter holding register empty (priority 3): cleared by reading IIR or writing THR.
    static let transmitterHoldingEmpty: UInt8 = 0x02
    /// Modem status (priority 4): cleared by reading MSR.
    static let modemStatus: UInt8 = 0x00
    /// Bits 6–7 set: FIFOs enabled (a 16550A; Linux's autoconfig checks for this value).
    static let fifosEnabled: UInt8 = 0xC0
}

/// FCR bits (write-only; the same offset reads IIR).
enum FIFOControl {
    /// FIFO enable; changing it clears both FIFOs. Other FCR bits are only accepted while it is set.
    static let enable: UInt8 = 0x01
    /// Clear the receive FIFO (self-clearing).
    static let clearReceiver: UInt8 = 0x02
    /// Clear the transmit FIFO (self-clearing; ours is always empty).
    static let clearTransmitter: UInt8 = 0x04
}

/// LCR bits.
enum LineControl {
    /// DLAB: offsets 0 and 1 address DLL and DLM instead of RBR/THR and IER.
    static let divisorLatchAccess: UInt8 = 0x80
}

/// MCR bits. Bits 5–7 are not implemented on a 16550A and read as 0.
enum ModemControl {
    /// DTR output (loopback: drives DSR).
    static let dataTerminalReady: UInt8 = 0x01
    /// RTS output (loopback: drives CTS).
    static let requestToSend: UInt8 = 0x02
    /// OUT1 output (loopback: drives RI).
    static let out1: UInt8 = 0x04
    /// OUT2 output (loopback: drives DCD; on a PC it also gates the IRQ, which we do not model).
    static let out2: UInt8 = 0x08
    /// LOOP: transmitter feeds the receiver, outputs feed the modem inputs, the serial line is disconnected.
    static let loopback: UInt8 = 0x10
    /// The bits a 16550A stores.
    static let implementedBits: UInt8 = 0x1F
}

/// LSR bits.
enum LineStatus {
    /// DR: at least one byte in the receive FIFO.
    static let dataReady: UInt8 = 0x01
    /// OE: a received byte was lost because the FIFO was full; cleared by reading LSR.
    static let overrunError: UInt8 = 0x02
    /// THRE: the transmitter holding register can take a byte.
    static let transmitterHoldingEmpty: UInt8 = 0x20
    /// TEMT: holding and shift registers are both empty.
    static let transmitterEmpty: UInt8 = 0x40
}

/// MSR bits. The low nibble records changes since the last MSR read; the high nibble is the line state.
enum ModemStatus {
    /// DCTS: CTS changed.
    static let deltaClearToSend: UInt8 = 0x01
    /// DDSR: DSR changed.
    static let deltaDataSetReady: UInt8 = 0x02
    /// TERI: RI went from on to off.
    static let trailingEdgeRingIndicator: UInt8 = 0x04
    /// DDCD: DCD changed.
    static let deltaDataCarrierDetect: UInt8 = 0x08
    /// CTS: clear to send.
    static let clearToSend: UInt8 = 0x10
    /// DSR: data set ready.
    static let dataSetReady: UInt8 = 0x20
    /// RI: ring indicator.
    static let ringIndicator: UInt8 = 0x40
    /// DCD: data carrier detect.
    static let dataCarrierDetect: UInt8 = 0x80
    /// Lines seen outside loopback: a modem that is always connected and ready (DCD|DSR|CTS).
    static let connectedLines: UInt8 = 0xB0
}

/// Register values after power-on (PC16550D "Reset" table).
enum SerialResetValue {
    /// DLL after reset: divisor 12, 9600 baud from the PC's 1.8432 MHz clock.
    static let divisorLatchLow: UInt8 = 0x0C
}
