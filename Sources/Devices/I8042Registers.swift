/// Register offsets and values of the 8042 (IBM PS/2 Technical Reference; Linux drivers/input/serio/i8042.h).
enum I8042Register {
    /// Data port (0x60): replies to the host, and data bytes for the controller or keyboard.
    static let data: UInt64 = 0
    /// Status (read) and command (write) port (0x64).
    static let statusCommand: UInt64 = 4
}

/// Status register bits (port 0x64, read).
enum I8042Status {
    /// OBF: a byte waits in the output buffer (data port).
    static let outputBufferFull: UInt8 = 0x01
    /// SYS: the system flag, a copy of command byte bit 2 (set after a successful POST).
    static let systemFlag: UInt8 = 0x04
    /// A2: the last write went to the command port (1) or the data port (0).
    static let lastWriteWasCommand: UInt8 = 0x08
    /// INH: 1 when the keyboard is not inhibited (key lock open).
    static let keyboardNotInhibited: UInt8 = 0x10
}

/// Controller commands (port 0x64, write) and their replies.
enum I8042Command {
    /// Read the command byte into the output buffer.
    static let readCommandByte: UInt8 = 0x20
    /// The next data write replaces the command byte.
    static let writeCommandByte: UInt8 = 0x60
    /// Controller self-test; replies `selfTestPassed`.
    static let selfTest: UInt8 = 0xAA
    /// Keyboard interface test; replies 0x00 (no error).
    static let keyboardInterfaceTest: UInt8 = 0xAB
    /// The next data write goes to the output port; its bit 0 is the CPU reset line (active low).
    static let writeOutputPort: UInt8 = 0xD1
    /// First of the "pulse output port" commands 0xF0–0xFF; bits 0–3 clear select the lines pulsed low.
    static let pulseOutputPortFirst: UInt8 = 0xF0
    /// Bit of the output port (and of a pulse command) driving the CPU reset line, active low.
    static let resetLine: UInt8 = 0x01
    /// Reply to a passed self-test.
    static let selfTestPassed: UInt8 = 0x55
    /// Reply to a passed interface test.
    static let interfaceTestPassed: UInt8 = 0x00
}
