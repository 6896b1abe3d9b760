/// The UART's receive FIFO: a fixed ring of 64 bytes, allocated once, so guest I/O never allocates.
struct ReceiveFIFO {
    /// 64 bytes, as vm-superio's serial: enough for a burst of typed input between guest reads.
    static let capacity = 64

    private var storage = [UInt8](repeating: 0, count: ReceiveFIFO.capacity)
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    /// Appends `byte`; returns false (and drops it) when `count` has reached `limit` or the capacity.
    mutating func push(_ byte: UInt8, limit: Int = ReceiveFIFO.capacity) -> Bool {
        guard count < min(limit, ReceiveFIFO.capacity) else { return false }
        storage[(head + count) % ReceiveFIFO.capacity] = byte
        count += 1
        return true
    }

    /// Removes and returns the oldest byte.
    mutating func pop() -> UInt8? {
        guard count > 0 else { return nil }
        let byte = storage[head]
        head = (head + 1) % ReceiveFIFO.capacity
        count -= 1
        return byte
    }

    mutating func removeAll() {
        head = 0
        count = 0
    }
}
