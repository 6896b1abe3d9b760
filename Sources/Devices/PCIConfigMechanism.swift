import Synchronization

/// PCI configuration mechanism #1 (PCI Local Bus 3.0 §3.2.2.3.2): CONFIG_ADDRESS at 0xCF8 and
/// CONFIG_DATA at 0xCFC–0xCFF, inserted as one 8-port range at 0xCF8. Bus 0 only, function 0 of each
/// device slot only (the VMM's functions are all single-function devices).
///
/// CONFIG_ADDRESS is latched by 32-bit writes only; narrower writes to 0xCF8–0xCFB are ignored, as
/// chipsets do (Linux's type-1 probe writes a byte to 0xCFB and then expects the dword it wrote to
/// read back). A data access reaches `functions[device]` at register `(address & 0xFC) + port
/// offset`; with the enable bit clear, another bus or function, or an empty slot, reads are all ones
/// and writes vanish, which is how software finds empty slots.
public final class PCIConfigMechanism: BusDevice {
    public static let rangeLength: UInt64 = 8
    /// Device numbers are 5 bits.
    public static let slotCount = 32

    private let functions: [PCIFunction?]
    private let address = Mutex<UInt32>(0)

    private static let enableBit: UInt32 = 1 << 31

    /// - Parameter functions: device slot → function; at most `slotCount` entries.
    public init(functions: [Int: PCIFunction]) {
        var slots = [PCIFunction?](repeating: nil, count: Self.slotCount)
        for (slot, function) in functions where slots.indices.contains(slot) { slots[slot] = function }
        self.functions = slots
    }

    public func read(offset: UInt64, size: Int) -> UInt64 {
        switch offset {
        case 0..<4:
            guard offset + UInt64(size) <= 4 else { return Self.allOnes(size) }
            let value = address.withLock { $0 }
            return UInt64(value >> UInt32(8 * offset)) & Self.mask(size)
        case 4..<8:
            guard offset + UInt64(size) <= 8, let (function, register) = target(dataOffset: offset - 4) else {
                return Self.allOnes(size)
            }
            return UInt64(function.readConfig(offset: register, size: size)) & Self.mask(size)
        default:
            return Self.allOnes(size)
        }
    }

    public func write(offset: UInt64, size: Int, value: UInt64) {
        switch offset {
        case 0 where size == 4:
            address.withLock { $0 = UInt32(truncatingIfNeeded: value) }
        case 4..<8:
            guard offset + UInt64(size) <= 8, let (function, register) = target(dataOffset: offset - 4) else { return }
            function.writeConfig(offset: register, size: size, value: UInt32(truncatingIfNeeded: value))
        default:
            break
        }
    }

    /// The function and register a data-port access at `dataOffset` (0–3) goes to, if any.
    private func target(dataOffset: UInt64) -> (PCIFunction, Int)? {
        let value = address.withLock { $0 }
        guard value & Self.enableBit != 0 else { return nil }
        let bus = (value >> 16) & 0xFF
        let slot = Int((value >> 11) & 0x1F)
        let function = (value >> 8) & 0x7
        guard bus == 0, function == 0, let device = functions[slot] else { return nil }
        return (device, Int(value & 0xFC) + Int(dataOffset))
    }

    private static func mask(_ size: Int) -> UInt64 {
        size >= 8 ? UInt64.max : (UInt64(1) << UInt64(8 * max(size, 0))) - 1
    }

    private static func allOnes(_ size: Int) -> UInt64 { mask(size) }
}
