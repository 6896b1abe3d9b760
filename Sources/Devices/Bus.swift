import Synchronization

/// Routes guest accesses in one address space (I/O ports or MMIO) to the devices mapped there.
///
/// Lifecycle: `insert` every device while building the machine, then `seal()` before vCPUs start. After
/// `seal()` the map is an immutable sorted table published once through an atomic reference, so each
/// access is one atomic load plus a binary search, with no lock; `insert` then throws `BusError.sealed`.
/// Before `seal()` (setup, unit tests) accesses are also correct but go through the setup lock.
///
/// Absent hardware reads as all ones and ignores writes, as on a PC bus with nothing driving the lines.
/// Such accesses are cheap and counted in `unmappedAccessCount` for diagnostics.
public final class Bus: Sendable {
    private let setupMappings = Mutex<[BusMapping]>([])
    private let sealedTable = AtomicLazyReference<BusTable>()
    private let unmappedAccesses = Atomic<UInt64>(0)

    public init() {}

    /// Maps `device` at [base, base + length). The device then sees offsets 0..<length.
    public func insert(_ device: any BusDevice, base: UInt64, length: UInt64) throws(BusError) {
        guard length > 0 else { throw .zeroLength(base: base) }
        let (last, overflow) = base.addingReportingOverflow(length - 1)
        guard !overflow else { throw .rangeOverflow(base: base, length: length) }
        let mapping = BusMapping(base: base, last: last, length: length, device: device)
        try setupMappings.withLock { (mappings: inout [BusMapping]) throws(BusError) -> Void in
            guard sealedTable.load() == nil else { throw .sealed(base: base, length: length) }
            let index = mappings.firstIndex(withBaseAbove: base)
            if index > 0, mappings[index - 1].last >= base {
                let existing = mappings[index - 1]
                throw .overlap(base: base, length: length, existingBase: existing.base, existingLength: existing.length)
            }
            if index < mappings.count, mappings[index].base <= last {
                let existing = mappings[index]
                throw .overlap(base: base, length: length, existingBase: existing.base, existingLength: existing.length)
            }
            mappings.insert(mapping, at: index)
        }
    }

    /// Freezes the map. Call once all devices are inserted and before any vCPU runs; calling it again is harmless.
    public func seal() {
        setupMappings.withLock { mappings in
            _ = sealedTable.storeIfNil(BusTable(mappings))
        }
    }

    /// Whether `seal()` has been called.
    public var isSealed: Bool {
        sealedTable.load() != nil
    }

    /// A guest read of `size` bytes (1...8) at `address`. Unmapped addresses and impossible sizes read as all ones.
    public func read(address: UInt64, size: Int) -> UInt64 {
        let mask = Bus.allOnes(size: size)
        guard (1...8).contains(size), let (device, offset) = resolve(address) else {
            unmappedAccesses.wrappingAdd(1, ordering: .relaxed)
            return mask
        }
        return device.read(offset: offset, size: size) & mask
    }

    /// A guest write of the low `size` bytes (1...8) of `value` at `address`. Unmapped writes are dropped.
    public func write(address: UInt64, size: Int, value: UInt64) {
        guard (1...8).contains(size), let (device, offset) = resolve(address) else {
            unmappedAccesses.wrappingAdd(1, ordering: .relaxed)
            return
        }
        device.write(offset: offset, size: size, value: value & Bus.allOnes(size: size))
    }

    /// How many accesses hit no device (or had a size outside 1...8) since the bus was created.
    public var unmappedAccessCount: UInt64 {
        unmappedAccesses.load(ordering: .relaxed)
    }

    private func resolve(_ address: UInt64) -> (device: any BusDevice, offset: UInt64)? {
        if let table = sealedTable.load() {
            return table.mappings.resolve(address)
        }
        return setupMappings.withLock { mappings in mappings.resolve(address) }
    }

    /// The value of `size` bytes of ones: 0xFF for 1, 0xFFFF for 2, ...; 0 for sizes below 1, all 64 bits above 8.
    static func allOnes(size: Int) -> UInt64 {
        if size <= 0 { return 0 }
        if size >= 8 { return UInt64.max }
        return (UInt64(1) << UInt64(8 * size)) &- 1
    }
}
