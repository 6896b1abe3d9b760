/// An MSI-X table and Pending Bit Array (PCI Local Bus 3.0 §6.8.2), with the MSI-X Enable and Function
/// Mask bits of the capability's Message Control.
///
/// A vector signalled while it or the function is masked sets its pending bit instead; unmasking sends
/// it. The table takes aligned 32- and 64-bit accesses (§6.8.2: software must use them); anything else
/// reads 0 and is ignored, as are writes to the read-only pending bits.
struct MSIXTable: Sendable {
    /// One table entry: Message Address (64 bits), Message Data, Vector Control.
    struct Entry: Sendable {
        var address: UInt64 = 0
        var data: UInt32 = 0
        /// Vector Control bit 0; set after reset (§6.8.2.9).
        var isMasked = true
    }

    static let entrySize: UInt64 = 16
    /// Message Control bit 15 (PCI_MSIX_FLAGS_ENABLE).
    static let enableBit: UInt16 = 1 << 15
    /// Message Control bit 14 (PCI_MSIX_FLAGS_MASKALL).
    static let functionMaskBit: UInt16 = 1 << 14

    private(set) var entries: [Entry]
    /// One bit per vector, 64 to a word, as the guest reads the Pending Bit Array.
    private var pendingBits: [UInt64]
    private(set) var isEnabled = false
    private(set) var isFunctionMasked = false

    /// - Parameter vectorCount: 1...2048 table entries.
    init(vectorCount: Int) {
        let count = min(max(vectorCount, 1), 2048)
        entries = Array(repeating: Entry(), count: count)
        pendingBits = Array(repeating: 0, count: (count + 63) / 64)
    }

    var vectorCount: Int { entries.count }

    /// Bytes of the Pending Bit Array.
    var pendingBitsLength: UInt64 { UInt64(pendingBits.count) * 8 }

    /// Message Control: Table Size − 1 in bits 10:0, Function Mask, MSI-X Enable.
    var messageControl: UInt16 {
        UInt16(vectorCount - 1) | (isFunctionMasked ? Self.functionMaskBit : 0) | (isEnabled ? Self.enableBit : 0)
    }

    /// A write of Message Control; returns the pending messages it unmasked.
    mutating func writeMessageControl(_ value: UInt16) -> [MSIXMessage] {
        isEnabled = value & Self.enableBit != 0
        isFunctionMasked = value & Self.functionMaskBit != 0
        return releasePending()
    }

    func isPending(_ vector: Int) -> Bool {
        vector >= 0 && vector < vectorCount && pendingBits[vector / 64] & (1 << UInt64(vector % 64)) != 0
    }

    /// Signals `vector`: its message when it can be sent now; nil when MSI-X is off, the vector does not
    /// exist, or it is masked (then its pending bit is set).
    mutating func signal(_ vector: UInt16) -> MSIXMessage? {
        let index = Int(vector)
        guard isEnabled, index < vectorCount else { return nil }
        guard !isFunctionMasked, !entries[index].isMasked else {
            pendingBits[index / 64] |= 1 << UInt64(index % 64)
            return nil
        }
        return message(index)
    }

    /// Forgets every pending message (the device they were for was reset).
    mutating func clearPendingBits() {
        for index in pendingBits.indices { pendingBits[index] = 0 }
    }

    /// A guest read of the table at `offset` from its start.
    func readTable(offset: UInt64, size: Int) -> UInt64 {
        guard let dwords = dwordRange(offset: offset, size: size, limit: UInt64(vectorCount) * Self.entrySize) else {
            return 0
        }
        var value: UInt64 = 0
        for (lane, dword) in dwords.enumerated() {
            value |= UInt64(readTableDword(dword)) << UInt64(32 * lane)
        }
        return value
    }

    /// A guest write of the table; returns the pending message it unmasked, if any.
    mutating func writeTable(offset: UInt64, size: Int, value: UInt64) -> [MSIXMessage] {
        guard let dwords = dwordRange(offset: offset, size: size, limit: UInt64(vectorCount) * Self.entrySize) else {
            return []
        }
        for (lane, dword) in dwords.enumerated() {
            writeTableDword(dword, UInt32(truncatingIfNeeded: value >> UInt64(32 * lane)))
        }
        return releasePending()
    }

    /// A guest read of the Pending Bit Array at `offset` from its start.
    func readPendingBits(offset: UInt64, size: Int) -> UInt64 {
        guard dwordRange(offset: offset, size: size, limit: pendingBitsLength) != nil else { return 0 }
        let word = pendingBits[Int(offset / 8)]
        return size == 8 ? word : UInt64(UInt32(truncatingIfNeeded: word >> (8 * (offset % 8))))
    }

    // MARK: - Private

    /// The dword indices an aligned 4- or 8-byte access covers inside `limit` bytes, or nil.
    private func dwordRange(offset: UInt64, size: Int, limit: UInt64) -> Range<Int>? {
        guard size == 4 || size == 8, offset % UInt64(size) == 0, offset < limit, limit - offset >= UInt64(size)
        else { return nil }
        let first = Int(offset / 4)
        return first..<(first + size / 4)
    }

    private func readTableDword(_ dword: Int) -> UInt32 {
        let entry = entries[dword / 4]
        switch dword % 4 {
        case 0: return UInt32(truncatingIfNeeded: entry.address)
        case 1: return UInt32(truncatingIfNeeded: entry.address >> 32)
        case 2: return entry.data
        default: return entry.isMasked ? 1 : 0
        }
    }

    private mutating func writeTableDword(_ dword: Int, _ value: UInt32) {
        let index = dword / 4
        switch dword % 4 {
        case 0: entries[index].address = (entries[index].address & 0xFFFF_FFFF_0000_0000) | UInt64(value)
        case 1: entries[index].address = (entries[index].address & 0xFFFF_FFFF) | UInt64(value) << 32
        case 2: entries[index].data = value
        default: entries[index].isMasked = value & 1 != 0
        }
    }

    private func message(_ index: Int) -> MSIXMessage {
        MSIXMessage(address: entries[index].address, data: entries[index].data)
    }

    /// Sends and clears every pending vector that is no longer masked.
    private mutating func releasePending() -> [MSIXMessage] {
        guard isEnabled, !isFunctionMasked else { return [] }
        var messages: [MSIXMessage] = []
        for index in 0..<vectorCount where isPending(index) && !entries[index].isMasked {
            pendingBits[index / 64] &= ~(1 << UInt64(index % 64))
            messages.append(message(index))
        }
        return messages
    }
}
