/// One L2 entry: the 64-bit descriptor plus, with extended L2 entries, the subcluster bitmap (qcow2 spec
/// "L2 table entry", "Extended L2 Entries").
struct Qcow2L2Entry: Sendable, Equatable {
    var descriptor: UInt64
    /// Bits 0–31 allocated, 32–63 reads-as-zero, per subcluster. Always 0 without extended L2 entries.
    var bitmap: UInt64

    static let unallocated = Qcow2L2Entry(descriptor: 0, bitmap: 0)

    var isCompressed: Bool { descriptor & Qcow2EntryBits.compressed != 0 }
    var isCopied: Bool { descriptor & Qcow2EntryBits.copied != 0 }
    /// Host offset bits 9–55 of a standard descriptor.
    var hostOffset: UInt64 { descriptor & Qcow2EntryBits.offsetMask }

    /// The whole cluster's type for images without subclusters; with extended L2 entries, the type of
    /// subcluster `subcluster`. Throws when the entry is malformed: an unaligned host offset, or
    /// allocation and zero bits both set.
    func type(subcluster: Int, geometry: Qcow2Geometry) throws(DiskImageError) -> Qcow2ClusterType {
        if isCompressed {
            return .compressed(Qcow2CompressedCluster(entry: descriptor, geometry: geometry))
        }
        let host = hostOffset
        if host & geometry.clusterMask != 0 {
            throw .corrupt("L2 entry 0x\(String(descriptor, radix: 16)) has a host offset that is not cluster aligned")
        }
        guard geometry.extendedL2 else {
            if descriptor & Qcow2EntryBits.zero != 0 { return host == 0 ? .zero : .zeroWithHost(host: host) }
            return host == 0 ? .unallocated : .normal(host: host)
        }
        let allocated = bitmap & (1 << UInt64(subcluster)) != 0
        let zero = bitmap & (1 << UInt64(subcluster + 32)) != 0
        if allocated && zero {
            throw .corrupt("extended L2 entry marks subcluster \(subcluster) both allocated and zero")
        }
        if host == 0 {
            if allocated {
                throw .corrupt("extended L2 entry marks subcluster \(subcluster) allocated without a host cluster")
            }
            return zero ? .zero : .unallocated
        }
        if allocated { return .normal(host: host) }
        return zero ? .zeroWithHost(host: host) : .unallocatedWithHost(host: host)
    }

    /// Structural problems QEMU's check counts as corruption (nil when none).
    func problem(geometry: Qcow2Geometry) -> String? {
        if isCompressed {
            if isCopied { return "copied flag must never be set for compressed clusters" }
            if geometry.extendedL2 && bitmap != 0 { return "compressed cluster with a non-zero subcluster bitmap" }
            return nil
        }
        if hostOffset & geometry.clusterMask != 0 { return "cluster is not properly aligned; L2 entry corrupted" }
        guard geometry.extendedL2 else { return nil }
        if (bitmap >> 32) & bitmap & 0xFFFF_FFFF != 0 { return "subclusters both allocated and zero" }
        if hostOffset == 0 && bitmap & Qcow2EntryBits.allAllocated != 0 {
            return "allocated subclusters without a host cluster"
        }
        return nil
    }
}
