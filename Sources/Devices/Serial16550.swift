import Synchronization

/// A 16550A UART as Linux's 8250 driver probes and drives it (autoconfig finds a "16550A"), with its side
/// effects injected, in the manner of rust-vmm vm-superio's `Serial`: no threads, no file descriptors.
///
/// Map it with `Bus.insert(_:base:length:)` at a COM port (0x3F8 for ttyS0) with `rangeLength`. Registers
/// are byte-wide; a wider access is split into byte accesses at consecutive offsets (see `ByteLanes`).
///
/// Effects:
/// - `interruptLine(level)` is called only when the INTR output changes level. For an edge-triggered ISA
///   IRQ (4 for COM1) the 0→1 change is what interrupts the guest. A THR write while the THRE interrupt is
///   already pending keeps the line high (no new edge); Linux's 8250 handler reads IIR until it reports no
///   interrupt, which lowers the line, so every later rise is a fresh edge.
/// - `output(byte)` is called once per transmitted byte, in guest order; not in loopback mode.
/// - `inputSpaceAvailable()` (optional) is called when `inputSpace` goes from 0 to more than 0: the guest
///   drained the FIFO, cleared it, or left loopback. A host input pump can wait for it instead of polling.
///
/// Threading: register state sits behind a mutex; every callback runs after that mutex is released.
/// `output` and `inputSpaceAvailable` may call back into this UART. `interruptLine` runs under a second,
/// small lock that keeps level changes from several threads in order (the last level delivered is always
/// the UART's current level), so it must not call back into this UART; an ioctl such as KVM_IRQ_LINE is fine.
public final class Serial16550: BusDevice {
    /// Number of consecutive addresses the UART decodes (offsets 0–7).
    public static let rangeLength: UInt64 = SerialRegister.count
    /// Size of the receive FIFO, the most `inputSpace` can be.
    public static let receiveFIFOCapacity = ReceiveFIFO.capacity

    private let state = Mutex(SerialState())
    /// The level last passed to `interruptLine`; its lock orders deliveries.
    private let deliveredInterruptLevel = Mutex(false)
    private let interruptLine: @Sendable (Bool) -> Void
    private let output: @Sendable (UInt8) -> Void
    private let inputSpaceAvailable: (@Sendable () -> Void)?

    /// - Parameters:
    ///   - interruptLine: sets the interrupt line's level; called only on changes, initially low.
    ///   - output: receives each byte the guest transmits.
    ///   - inputSpaceAvailable: told when the receiver can accept input again after being full.
    public init(
        interruptLine: @escaping @Sendable (Bool) -> Void,
        output: @escaping @Sendable (UInt8) -> Void,
        inputSpaceAvailable: (@Sendable () -> Void)? = nil
    ) {
        self.interruptLine = interruptLine
        self.output = output
        self.inputSpaceAvailable = inputSpaceAvailable
    }

    public func read(offset: UInt64, size: Int) -> UInt64 {
        update { state, _ in
            ByteLanes.read(offset: offset, size: size) { state.readRegister($0) }
        }
    }

    public func write(offset: UInt64, size: Int, value: UInt64) {
        update { state, transmitted in
            ByteLanes.write(offset: offset, size: size, value: value) {
                state.writeRegister($0, $1, transmitted: &transmitted)
            }
        }
    }

    /// Delivers bytes from the host side of the serial line into the receive FIFO and returns how many fit.
    /// Bytes that do not fit are lost and the guest sees an overrun (LSR.OE); offer at most `inputSpace`
    /// bytes to lose none. Nothing is accepted in loopback mode (the line is disconnected).
    public func enqueueInput(_ bytes: some Collection<UInt8>) -> Int {
        update { state, _ in state.receiveFromLine(bytes) }
    }

    /// How many bytes `enqueueInput` would accept now without an overrun.
    public var inputSpace: Int {
        state.withLock { $0.inputSpace }
    }

    /// Runs `body` on the locked state, then performs the effects it caused with the lock released.
    private func update<Result: Sendable>(
        _ body: (inout SerialState, inout TransmittedBytes) -> Result
    ) -> Result {
        let (result, transmitted, levelChanged, spaceFreed) = state.withLock { state in
            let levelBefore = state.interruptLevel
            let spaceBefore = state.inputSpace
            var transmitted = TransmittedBytes()
            let result = body(&state, &transmitted)
            return (
                result, transmitted, state.interruptLevel != levelBefore,
                spaceBefore == 0 && state.inputSpace > 0
            )
        }
        for byte in transmitted {
            output(byte)
        }
        if levelChanged {
            deliverInterruptLevel()
        }
        if spaceFreed {
            inputSpaceAvailable?()
        }
        return result
    }

    /// Brings the external line to the UART's current level. Reading the level under the delivery lock means
    /// racing threads cannot leave the line at a stale level, and a level is never delivered twice in a row.
    private func deliverInterruptLevel() {
        deliveredInterruptLevel.withLock { delivered in
            let level = state.withLock { $0.interruptLevel }
            guard level != delivered else { return }
            delivered = level
            interruptLine(level)
        }
    }
}
