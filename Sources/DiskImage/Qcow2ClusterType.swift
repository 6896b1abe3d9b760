/// What one (sub)cluster of the virtual disk maps to, decoded from its L2 entry (qcow2 spec "L2 table
/// entry", "Standard Cluster Descriptor", "Extended L2 Entries").
enum Qcow2ClusterType: Sendable, Equatable {
    /// Not in this image: read the backing file, or zeroes.
    case unallocated
    /// Not in this image although a host cluster is reserved for it (extended L2, alloc bit clear).
    case unallocatedWithHost(host: UInt64)
    /// Reads as zeroes; no host cluster.
    case zero
    /// Reads as zeroes; a host cluster stays reserved for it.
    case zeroWithHost(host: UInt64)
    /// Data at `host` (the cluster's host offset, cluster aligned).
    case normal(host: UInt64)
    /// A compressed cluster (no subclusters).
    case compressed(Qcow2CompressedCluster)

    /// The host cluster holding a reference from this entry, if any (not for compressed clusters).
    var hostCluster: UInt64? {
        switch self {
        case .unallocatedWithHost(let host), .zeroWithHost(let host), .normal(let host): return host
        case .unallocated, .zero, .compressed: return nil
        }
    }

    /// The (sub)cluster reads as zeroes without consulting the backing file.
    var readsAsZero: Bool {
        switch self {
        case .zero, .zeroWithHost: return true
        default: return false
        }
    }
}
