/// The controller's registers: a plain value behind `I8042Controller`'s mutex.
struct I8042State {
    /// System flag and keyboard translation set, keyboard interrupt off (no IRQ line is modelled).
    private(set) var commandByte: UInt8 = 0x44
    /// The reply waiting to be read, if any.
    private var outputBuffer: UInt8?
    /// What the data port returns when the buffer is empty: the last byte it held, as on real hardware.
    private var lastOutput: UInt8 = 0
    private var lastWriteWasCommand = true
    /// A command (0x60 or 0xD1) waiting for its data byte.
    private var commandAwaitingData: UInt8?

    var status: UInt8 {
        var status = I8042Status.keyboardNotInhibited | (commandByte & I8042Status.systemFlag)
        if outputBuffer != nil { status |= I8042Status.outputBufferFull }
        if lastWriteWasCommand { status |= I8042Status.lastWriteWasCommand }
        return status
    }

    mutating func readRegister(_ offset: UInt64) -> UInt8 {
        switch offset {
        case I8042Register.data:
            guard let byte = outputBuffer else { return lastOutput }
            outputBuffer = nil
            return byte
        case I8042Register.statusCommand:
            return status
        default:
            return 0xFF
        }
    }

    /// Returns true when the write asks for a CPU reset.
    mutating func writeRegister(_ offset: UInt64, _ value: UInt8) -> Bool {
        switch offset {
        case I8042Register.data:
            lastWriteWasCommand = false
            return writeData(value)
        case I8042Register.statusCommand:
            lastWriteWasCommand = true
            return runCommand(value)
        default:
            return false
        }
    }

    private mutating func writeData(_ value: UInt8) -> Bool {
        let command = commandAwaitingData
        commandAwaitingData = nil
        switch command {
        case I8042Command.writeCommandByte:
            commandByte = value
            return false
        case I8042Command.writeOutputPort:
            return value & I8042Command.resetLine == 0
        default:
            // Bytes for the keyboard: there is none.
            return false
        }
    }

    private mutating func runCommand(_ command: UInt8) -> Bool {
        commandAwaitingData = nil
        switch command {
        case I8042Command.readCommandByte:
            reply(commandByte)
        case I8042Command.writeCommandByte, I8042Command.writeOutputPort:
            commandAwaitingData = command
        case I8042Command.selfTest:
            reply(I8042Command.selfTestPassed)
        case I8042Command.keyboardInterfaceTest:
            reply(I8042Command.interfaceTestPassed)
        case I8042Command.pulseOutputPortFirst...UInt8.max:
            return command & I8042Command.resetLine == 0
        default:
            break
        }
        return false
    }

    private mutating func reply(_ byte: UInt8) {
        outputBuffer = byte
        lastOutput = byte
    }
}
