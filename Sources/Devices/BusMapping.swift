/// One device's address range on a bus. `last` is inclusive so a range may end at UInt64.max.
struct BusMapping: Sendable {
    let base: UInt64
    let last: UInt64
    let length: UInt64
    let device: any BusDevice
}

extension Array where Element == BusMapping {
    /// The index of the first mapping whose base is above `address` (mappings are sorted by base and disjoint).
    /// Binary search: O(log n), no allocation.
    func firstIndex(withBaseAbove address: UInt64) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = low + (high - low) / 2
            if self[middle].base <= address {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low
    }

    /// The device covering `address` and the offset of `address` inside its range, if any.
    func resolve(_ address: UInt64) -> (device: any BusDevice, offset: UInt64)? {
        let next = firstIndex(withBaseAbove: address)
        guard next > 0 else { return nil }
        let candidate = self[next - 1]
        guard address <= candidate.last else { return nil }
        return (candidate.device, address - candidate.base)
    }
}

/// The frozen map of a sealed bus, shared by all vCPU threads without a lock.
final class BusTable: Sendable {
    let mappings: [BusMapping]

    init(_ mappings: [BusMapping]) {
        self.mappings = mappings
    }
}
