import Synchronization

/// The part of a PS/2 (8042) keyboard controller a guest uses to reboot the machine, with no keyboard or
/// mouse behind it. Linux's `reboot=k` path (arch/x86/kernel/reboot.c) waits for the input buffer to be empty
/// in the status port, then writes command 0xFE to pulse the CPU reset line.
///
/// Map it at port 0x60 with `rangeLength` (5): offset 0 is the data port (0x60), offset 4 the status/command
/// port (0x64); offsets 1–3 read as absent. (Port 0x61 falls inside the range but KVM's in-kernel PIT
/// claims it before userspace sees it.) Commands follow the IBM PS/2 Technical Reference 8042 command set:
///
/// - 0x20 read command byte → data port; 0x60 write command byte ← next data write
/// - 0xAA controller self-test → 0x55; 0xAB keyboard interface test → 0x00 (no error)
/// - 0xD1 write output port ← next data write; bit 0 clear holds the CPU in reset → `onReset()`
/// - 0xF0–0xFF pulse output lines low; bit 0 clear pulses reset (0xFE) → `onReset()`
/// - everything else (0xAD/0xAE disable/enable keyboard, aux commands, keyboard data) is ignored.
///
/// No IRQ 1/12 is modelled: nothing ever arrives from a keyboard, and replies are read by polling status.
/// `onReset` runs after the controller's lock is released, once per reset command.
public final class I8042Controller: BusDevice {
    /// Addresses covered when mapped at port 0x60: data at offset 0, status/command at offset 4.
    public static let rangeLength: UInt64 = 5

    private let state = Mutex(I8042State())
    private let onReset: @Sendable () -> Void

    public init(onReset: @escaping @Sendable () -> Void) {
        self.onReset = onReset
    }

    public func read(offset: UInt64, size: Int) -> UInt64 {
        state.withLock { state in
            ByteLanes.read(offset: offset, size: size) { state.readRegister($0) }
        }
    }

    public func write(offset: UInt64, size: Int, value: UInt64) {
        let resets = state.withLock { state in
            var resets = 0
            ByteLanes.write(offset: offset, size: size, value: value) { offset, byte in
                if state.writeRegister(offset, byte) { resets += 1 }
            }
            return resets
        }
        for _ in 0..<resets {
            onReset()
        }
    }
}
