/// Where a compressed cluster's bytes are (qcow2 spec "Compressed Clusters Descriptor").
///
/// The descriptor stores the first byte's host offset and the number of 512-byte sectors touched; the
/// data ends somewhere in the last sector, so `byteLength` may include trailing bytes of the next
/// compressed cluster or padding. Decompression stops once a full cluster has been produced.
struct Qcow2CompressedCluster: Sendable, Equatable, Hashable {
    /// Host offset of the first compressed byte (not aligned).
    let hostOffset: UInt64
    /// 512-byte sectors spanned, counting the one containing `hostOffset`.
    let sectors: UInt64

    init(hostOffset: UInt64, sectors: UInt64) {
        self.hostOffset = hostOffset
        self.sectors = sectors
    }

    /// Decodes the descriptor bits of an L2 entry with bit 62 set.
    init(entry: UInt64, geometry: Qcow2Geometry) {
        hostOffset = entry & geometry.compressedOffsetMask
        sectors = ((entry >> UInt64(geometry.compressedSizeShift)) & geometry.compressedSizeMask) + 1
    }

    /// Bytes from `hostOffset` to the end of the last sector (at most two clusters).
    var byteLength: UInt64 { sectors * 512 - (hostOffset & 511) }

    /// The sector-aligned range whose clusters this compressed cluster holds a reference to (QEMU's
    /// check counts exactly these clusters).
    var referencedRange: (start: UInt64, length: UInt64) { (hostOffset & ~511, sectors * 512) }

    /// The L2 entry describing `length` compressed bytes at `hostOffset`, nil if the offset does not fit.
    static func entry(hostOffset: UInt64, length: Int, geometry: Qcow2Geometry) -> UInt64? {
        guard length > 0, hostOffset & ~geometry.compressedOffsetMask == 0 else { return nil }
        let last = hostOffset + UInt64(length) - 1
        let extraSectors = (last >> 9) - (hostOffset >> 9)
        guard extraSectors <= geometry.compressedSizeMask else { return nil }
        return Qcow2EntryBits.compressed | extraSectors << UInt64(geometry.compressedSizeShift) | hostOffset
    }
}
