/// Splits an access wider than a byte into consecutive byte accesses, lowest address in the low byte.
///
/// That is what an x86 16- or 32-bit `in`/`out` to an 8-bit ISA device does on real hardware: the bus cycles
/// through the device's byte registers at port, port+1, ... So a word read of the UART at offset 0 also reads
/// (and pops) offset 1, as it would on a PC.
enum ByteLanes {
    /// At most 8 lanes; sizes below 1 touch nothing.
    static func laneCount(size: Int) -> Int {
        min(max(size, 0), 8)
    }

    static func read(offset: UInt64, size: Int, _ readByte: (UInt64) -> UInt8) -> UInt64 {
        var value: UInt64 = 0
        for lane in 0..<laneCount(size: size) {
            let (address, overflow) = offset.addingReportingOverflow(UInt64(lane))
            let byte: UInt8 = overflow ? 0xFF : readByte(address)
            value |= UInt64(byte) << UInt64(8 * lane)
        }
        return value
    }

    static func write(offset: UInt64, size: Int, value: UInt64, _ writeByte: (UInt64, UInt8) -> Void) {
        for lane in 0..<laneCount(size: size) {
            let (address, overflow) = offset.addingReportingOverflow(UInt64(lane))
            guard !overflow else { return }
            writeByte(address, UInt8(truncatingIfNeeded: value >> UInt64(8 * lane)))
        }
    }
}
