/// The 16550A's registers and the rules that tie them together: a plain value with no lock and no callbacks.
/// `Serial16550` wraps it in a mutex and turns its changes into side effects.
///
/// The transmitter is infinitely fast: a THR write is sent at once, so THR and the shift register are always
/// empty (LSR.THRE and LSR.TEMT always set). The receive FIFO holds 64 bytes in FIFO mode and 1 byte (the
/// plain RBR of 16450 mode) otherwise; the FCR trigger level is ignored: data available interrupts as soon as
/// one byte is there (Linux drains the FIFO until LSR.DR clears, so it does not care).
struct SerialState {
    private(set) var receiveFIFO = ReceiveFIFO()
    private(set) var interruptEnable: UInt8 = 0
    private(set) var lineControl: UInt8 = 0
    private(set) var modemControl: UInt8 = 0
    private(set) var scratch: UInt8 = 0
    private(set) var divisorLatchLow = SerialResetValue.divisorLatchLow
    private(set) var divisorLatchHigh: UInt8 = 0
    private(set) var fifosEnabled = false
    /// LSR.OE: a byte arrived while the receiver was full.
    private var overrun = false
    /// The THRE interrupt condition: set when THR became empty, cleared by an IIR read that reports it.
    private var transmitterInterruptPending = false
    /// MSR bits 0–3, accumulated until the guest reads MSR.
    private var modemStatusChanges: UInt8 = 0

    private var divisorLatchSelected: Bool { lineControl & LineControl.divisorLatchAccess != 0 }
    private var loopback: Bool { modemControl & ModemControl.loopback != 0 }

    /// How many bytes the receiver holds before it overruns: the FIFO in FIFO mode, the single RBR otherwise.
    private var receiveLimit: Int { fifosEnabled ? ReceiveFIFO.capacity : 1 }

    /// Bytes `receiveFromLine` would accept now. 0 in loopback, where the serial input is disconnected.
    var inputSpace: Int {
        loopback ? 0 : max(0, receiveLimit - receiveFIFO.count)
    }

    /// The highest-priority pending and enabled interrupt, as IIR bits 0–3 (PC16550D Table 4).
    var interruptIdentification: UInt8 {
        if interruptEnable & InterruptEnable.receiverLineStatus != 0, overrun {
            return InterruptIdentification.receiverLineStatus
        }
        if interruptEnable & InterruptEnable.receivedDataAvailable != 0, !receiveFIFO.isEmpty {
            return InterruptIdentification.receivedDataAvailable
        }
        if interruptEnable & InterruptEnable.transmitterHoldingEmpty != 0, transmitterInterruptPending {
            return InterruptIdentification.transmitterHoldingEmpty
        }
        if interruptEnable & InterruptEnable.modemStatus != 0, modemStatusChanges != 0 {
            return InterruptIdentification.modemStatus
        }
        return InterruptIdentification.noInterruptPending
    }

    /// The INTR output: high while any enabled interrupt is pending. OUT2 gating (a PC board detail) is not
    /// modelled, as in QEMU and vm-superio.
    var interruptLevel: Bool {
        interruptIdentification != InterruptIdentification.noInterruptPending
    }

    /// MSR bits 4–7. In loopback the modem inputs are wired to the MCR outputs (PC16550D "MCR bit 4"):
    /// CTS←RTS, DSR←DTR, RI←OUT1, DCD←OUT2; otherwise a modem that is always there.
    private var modemLines: UInt8 {
        guard loopback else { return ModemStatus.connectedLines }
        var lines: UInt8 = 0
        if modemControl & ModemControl.requestToSend != 0 { lines |= ModemStatus.clearToSend }
        if modemControl & ModemControl.dataTerminalReady != 0 { lines |= ModemStatus.dataSetReady }
        if modemControl & ModemControl.out1 != 0 { lines |= ModemStatus.ringIndicator }
        if modemControl & ModemControl.out2 != 0 { lines |= ModemStatus.dataCarrierDetect }
        return lines
    }

    // MARK: Guest register access

    /// A guest read of the byte register at `offset`, with the read's side effects (popping RBR, clearing
    /// LSR.OE, MSR change bits, or a reported THRE interrupt). Offsets past 7 read as absent (0xFF).
    mutating func readRegister(_ offset: UInt64) -> UInt8 {
        switch offset {
        case SerialRegister.receiverBuffer:
            if divisorLatchSelected { return divisorLatchLow }
            // An empty RBR reads as 0; the guest checks LSR.DR first.
            return receiveFIFO.pop() ?? 0
        case SerialRegister.interruptEnable:
            return divisorLatchSelected ? divisorLatchHigh : interruptEnable
        case SerialRegister.interruptIdentification:
            let identification = interruptIdentification
            if identification == InterruptIdentification.transmitterHoldingEmpty {
                transmitterInterruptPending = false
            }
            return identification | (fifosEnabled ? InterruptIdentification.fifosEnabled : 0)
        case SerialRegister.lineControl:
            return lineControl
        case SerialRegister.modemControl:
            return modemControl
        case SerialRegister.lineStatus:
            var status = LineStatus.transmitterHoldingEmpty | LineStatus.transmitterEmpty
            if !receiveFIFO.isEmpty { status |= LineStatus.dataReady }
            if overrun { status |= LineStatus.overrunError }
            overrun = false
            return status
        case SerialRegister.modemStatus:
            let status = modemLines | modemStatusChanges
            modemStatusChanges = 0
            return status
        case SerialRegister.scratch:
            return scratch
        default:
            return 0xFF
        }
    }

    /// A guest write of `value` to the byte register at `offset`. Bytes sent on the line are appended to
    /// `transmitted`. Writes to LSR and MSR (read-only) and past offset 7 are ignored.
    mutating func writeRegister(_ offset: UInt64, _ value: UInt8, transmitted: inout TransmittedBytes) {
        switch offset {
        case SerialRegister.transmitterHolding:
            if divisorLatchSelected {
                divisorLatchLow = value
            } else {
                transmit(value, to: &transmitted)
            }
        case SerialRegister.interruptEnable:
            if divisorLatchSelected {
                divisorLatchHigh = value
            } else {
                setInterruptEnable(value)
            }
        case SerialRegister.fifoControl:
            setFIFOControl(value)
        case SerialRegister.lineControl:
            lineControl = value
        case SerialRegister.modemControl:
            let linesBefore = modemLines
            modemControl = value & ModemControl.implementedBits
            recordModemLineChanges(from: linesBefore, to: modemLines)
        case SerialRegister.scratch:
            scratch = value
        default:
            break
        }
    }

    /// Bytes arriving on the serial line (the host's input). Accepts what fits; if any byte does not fit it is
    /// lost and LSR.OE is set, as when a real UART's FIFO is full. In loopback the line is disconnected and
    /// nothing is accepted (and nothing overruns). Returns how many bytes were accepted.
    mutating func receiveFromLine(_ bytes: some Collection<UInt8>) -> Int {
        guard !loopback else { return 0 }
        let space = inputSpace
        var accepted = 0
        for byte in bytes.prefix(space) {
            guard receiveFIFO.push(byte, limit: receiveLimit) else { break }
            accepted += 1
        }
        if accepted < bytes.count { overrun = true }
        return accepted
    }

    // MARK: Register rules

    /// THR write: sent at once (outside loopback) or fed back into the receiver (loopback). Writing THR clears
    /// the THRE interrupt, and since the byte leaves instantly THR is empty again, which raises it anew: the
    /// net effect is a pending THRE interrupt after every THR write.
    private mutating func transmit(_ byte: UInt8, to transmitted: inout TransmittedBytes) {
        if loopback {
            if !receiveFIFO.push(byte, limit: receiveLimit) { overrun = true }
        } else {
            transmitted.append(byte)
        }
        transmitterInterruptPending = true
    }

    /// IER write. Enabling ETBEI while THR is empty (always, here) raises the THRE interrupt, as on a real
    /// 16550; Linux's startup checks exactly that ("UART_BUG_THRE" test in 8250_port.c).
    private mutating func setInterruptEnable(_ value: UInt8) {
        let previous = interruptEnable
        interruptEnable = value & InterruptEnable.implementedBits
        let enablesTransmitterInterrupt =
            interruptEnable & InterruptEnable.transmitterHoldingEmpty != 0
            && previous & InterruptEnable.transmitterHoldingEmpty == 0
        if enablesTransmitterInterrupt { transmitterInterruptPending = true }
    }

    /// FCR write. Toggling FIFO enable clears the receive FIFO; the clear bits only act while FIFOs are enabled.
    private mutating func setFIFOControl(_ value: UInt8) {
        let enable = value & FIFOControl.enable != 0
        if enable != fifosEnabled {
            receiveFIFO.removeAll()
            fifosEnabled = enable
        }
        if enable, value & FIFOControl.clearReceiver != 0 {
            receiveFIFO.removeAll()
        }
    }

    /// Sets MSR bits 0–3 for the modem lines that changed (TERI only for RI turning off).
    private mutating func recordModemLineChanges(from before: UInt8, to after: UInt8) {
        let changed = before ^ after
        if changed & ModemStatus.clearToSend != 0 { modemStatusChanges |= ModemStatus.deltaClearToSend }
        if changed & ModemStatus.dataSetReady != 0 { modemStatusChanges |= ModemStatus.deltaDataSetReady }
        if before & ModemStatus.ringIndicator != 0, after & ModemStatus.ringIndicator == 0 {
            modemStatusChanges |= ModemStatus.trailingEdgeRingIndicator
        }
        if changed & ModemStatus.dataCarrierDetect != 0 {
            modemStatusChanges |= ModemStatus.deltaDataCarrierDetect
        }
    }
}
