/// One entry of the snapshot table (qcow2 spec "Snapshots", "Snapshot table entry"), with the bytes
/// this library does not interpret kept for rewriting.
struct Qcow2Snapshot: Sendable, Equatable {
    /// Fixed part of an entry, before extra data, ID and name.
    static let fixedBytes = 40
    /// Extra data version 3 images must carry: vm_state_size_large, disk_size (QEMU adds icount).
    static let requiredExtraBytes = 16

    var l1TableOffset: UInt64
    var l1Size: UInt32
    var id: String
    var name: String
    var dateSeconds: UInt32
    var dateNanoseconds: UInt32
    var vmClockNanoseconds: UInt64
    var vmStateSize: UInt64
    /// Virtual disk size when the snapshot was taken (extra data bytes 8–15), if recorded.
    var diskSize: UInt64?
    /// Extra data bytes as stored (at least the fields above when present).
    var extraData: [UInt8]

    /// Extra data bytes 16–23 (QEMU's icount); nil when absent or all ones (QEMU's "not recorded").
    var instructionCount: UInt64? {
        guard extraData.count >= 24 else { return nil }
        let value = extraData.bigEndian64(at: 16)
        return value == UInt64.max ? nil : value
    }

    /// Bytes this entry takes in the table, padding included.
    var encodedLength: Int { (Self.fixedBytes + extraData.count + id.utf8.count + name.utf8.count + 7) & ~7 }

    /// Parses `count` entries from `table` and validates them; also returns the table's length in bytes.
    /// Returns nil when `table` ends before the last entry and `isComplete` is false (read more).
    static func parseTable(
        _ table: [UInt8], count: Int, geometry: Qcow2Geometry, fileLength: UInt64, isComplete: Bool
    ) throws(DiskImageError) -> (snapshots: [Qcow2Snapshot], length: UInt64)? {
        var snapshots: [Qcow2Snapshot] = []
        var position = 0
        for index in 0..<count {
            guard position + fixedBytes <= table.count else {
                if !isComplete { return nil }
                throw .corrupt("snapshot table entry \(index) extends past the table")
            }
            let l1Offset = table.bigEndian64(at: position)
            let l1Size = table.bigEndian32(at: position + 8)
            let idLength = Int(table.bigEndian16(at: position + 12))
            let nameLength = Int(table.bigEndian16(at: position + 14))
            let extraLength = Int(table.bigEndian32(at: position + 36))
            guard extraLength <= Qcow2Limits.maximumSnapshotExtraData else {
                throw .corrupt("snapshot \(index) has \(extraLength) bytes of extra data")
            }
            let variable = position + fixedBytes
            guard variable + extraLength + idLength + nameLength <= table.count else {
                if !isComplete { return nil }
                throw .corrupt("snapshot table entry \(index) extends past the table")
            }
            guard UInt64(l1Size) * 8 <= Qcow2Limits.maximumL1Bytes else {
                throw .corrupt("snapshot \(index) L1 table of \(l1Size) entries is too large")
            }
            if l1Size > 0 {
                guard l1Offset & geometry.clusterMask == 0, l1Offset >= geometry.clusterBytes else {
                    throw .corrupt("snapshot \(index) L1 table offset 0x\(String(l1Offset, radix: 16)) is invalid")
                }
                let (end, overflow) = l1Offset.addingReportingOverflow(UInt64(l1Size) * 8)
                guard !overflow, end <= fileLength else {
                    throw .corrupt("snapshot \(index) L1 table extends past the end of the file")
                }
            }
            let extra = Array(table[variable..<variable + extraLength])
            var snapshot = Qcow2Snapshot(
                l1TableOffset: l1Offset, l1Size: l1Size,
                id: table.string(at: variable + extraLength, count: idLength),
                name: table.string(at: variable + extraLength + idLength, count: nameLength),
                dateSeconds: table.bigEndian32(at: position + 16),
                dateNanoseconds: table.bigEndian32(at: position + 20),
                vmClockNanoseconds: table.bigEndian64(at: position + 24),
                vmStateSize: UInt64(table.bigEndian32(at: position + 32)), diskSize: nil, extraData: extra)
            if extraLength >= 8 { snapshot.vmStateSize = extra.bigEndian64(at: 0) }
            if extraLength >= 16 { snapshot.diskSize = extra.bigEndian64(at: 8) }
            snapshots.append(snapshot)
            position = (variable + extraLength + idLength + nameLength + 7) & ~7
        }
        return (snapshots, UInt64(position))
    }

    /// The on-disk entry.
    var encoded: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.fixedBytes)
        bytes.storeBigEndian64(l1TableOffset, at: 0)
        bytes.storeBigEndian32(l1Size, at: 8)
        bytes.storeBigEndian16(UInt16(truncatingIfNeeded: id.utf8.count), at: 12)
        bytes.storeBigEndian16(UInt16(truncatingIfNeeded: name.utf8.count), at: 14)
        bytes.storeBigEndian32(dateSeconds, at: 16)
        bytes.storeBigEndian32(dateNanoseconds, at: 20)
        bytes.storeBigEndian64(vmClockNanoseconds, at: 24)
        bytes.storeBigEndian32(UInt32(truncatingIfNeeded: min(vmStateSize, UInt64(UInt32.max))), at: 32)
        bytes.storeBigEndian32(UInt32(extraData.count), at: 36)
        bytes += extraData
        bytes += Array(id.utf8)
        bytes += Array(name.utf8)
        bytes += [UInt8](repeating: 0, count: (8 - bytes.count % 8) % 8)
        return bytes
    }
}
