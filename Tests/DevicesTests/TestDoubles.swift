import Synchronization

@testable import Devices

/// Collects values handed to a device callback, from any thread.
final class Recorder<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])

    func record(_ value: Value) {
        values.withLock { $0.append(value) }
    }

    var all: [Value] {
        values.withLock { $0 }
    }

    var count: Int {
        values.withLock { $0.count }
    }
}

/// Counts calls of a `() -> Void` callback.
final class CallCounter: Sendable {
    private let calls = Atomic<Int>(0)

    func increment() {
        calls.wrappingAdd(1, ordering: .relaxed)
    }

    var count: Int {
        calls.load(ordering: .relaxed)
    }
}

/// A bus device that answers reads with a fixed value and records every access.
final class RecordingDevice: BusDevice {
    enum Access: Equatable, Sendable {
        case read(offset: UInt64, size: Int)
        case write(offset: UInt64, size: Int, value: UInt64)
    }

    let readValue: UInt64
    private let accesses = Recorder<Access>()

    init(readValue: UInt64 = 0) {
        self.readValue = readValue
    }

    var log: [Access] { accesses.all }

    func read(offset: UInt64, size: Int) -> UInt64 {
        accesses.record(.read(offset: offset, size: size))
        return readValue
    }

    func write(offset: UInt64, size: Int, value: UInt64) {
        accesses.record(.write(offset: offset, size: size, value: value))
    }
}

/// A 16550A with recorded effects and byte-wide register helpers.
struct UARTHarness {
    let uart: Serial16550
    let interruptLevels = Recorder<Bool>()
    let transmitted = Recorder<UInt8>()
    let spaceNotifications = CallCounter()

    init() {
        let levels = interruptLevels
        let output = transmitted
        let space = spaceNotifications
        uart = Serial16550(
            interruptLine: { levels.record($0) },
            output: { output.record($0) },
            inputSpaceAvailable: { space.increment() })
    }

    func read(_ offset: UInt64) -> UInt8 {
        UInt8(truncatingIfNeeded: uart.read(offset: offset, size: 1))
    }

    func write(_ offset: UInt64, _ value: UInt8) {
        uart.write(offset: offset, size: 1, value: UInt64(value))
    }

    /// The level the interrupt line was last set to (low before any change).
    var lineLevel: Bool {
        interruptLevels.all.last ?? false
    }

    /// Enables the FIFOs as Linux does before using a 16550A.
    func enableFIFOs() {
        write(SerialRegister.fifoControl, FIFOControl.enable)
    }
}
