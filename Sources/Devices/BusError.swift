/// Why a device could not be inserted into a `Bus`.
public enum BusError: Error, Equatable, CustomStringConvertible {
    /// A device must cover at least one address.
    case zeroLength(base: UInt64)
    /// base + length - 1 does not fit in 64 bits.
    case rangeOverflow(base: UInt64, length: UInt64)
    /// [base, base+length) shares an address with a device already on the bus.
    case overlap(base: UInt64, length: UInt64, existingBase: UInt64, existingLength: UInt64)
    /// The bus was sealed: vCPUs may be reading it without a lock, so its map can no longer change.
    case sealed(base: UInt64, length: UInt64)

    public var description: String {
        switch self {
        case .zeroLength(let base):
            return "cannot map a device of length 0 at \(hex(base))"
        case .rangeOverflow(let base, let length):
            return "device range at \(hex(base)) with length \(hex(length)) runs past the end of the address space"
        case .overlap(let base, let length, let existingBase, let existingLength):
            return "device range [\(hex(base)), +\(hex(length))) overlaps the device already at "
                + "[\(hex(existingBase)), +\(hex(existingLength))): choose another base address"
        case .sealed(let base, let length):
            return "cannot map [\(hex(base)), +\(hex(length))): the bus is sealed; insert devices before seal()"
        }
    }
}

private func hex(_ value: UInt64) -> String {
    "0x" + String(value, radix: 16)
}
