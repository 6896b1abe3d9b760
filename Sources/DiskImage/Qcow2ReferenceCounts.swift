/// Reference counts recomputed from the metadata during a check: one counter per cluster of the file,
/// plus a bounded sparse map for (corrupt) references past its end.
struct Qcow2ReferenceCounts {
    /// Most distinct clusters past the end of the file tracked before the check gives up on them.
    static let maximumBeyondEnd = 1 << 16

    let clusterBits: Int
    private(set) var counts: [UInt32]
    private(set) var beyondEnd: [UInt64: UInt32] = [:]
    /// References that could not be recorded (too many past the end of the file).
    private(set) var dropped = 0

    init(clusters: Int, clusterBits: Int) {
        self.clusterBits = clusterBits
        counts = [UInt32](repeating: 0, count: clusters)
    }

    /// Counts one reference to every cluster overlapping [offset, offset+length).
    mutating func add(_ offset: UInt64, _ length: UInt64) {
        guard length > 0 else { return }
        let (end, overflow) = offset.addingReportingOverflow(length - 1)
        let first = offset >> UInt64(clusterBits)
        let last = overflow ? first : end >> UInt64(clusterBits)
        var cluster = first
        while cluster <= last {
            increment(cluster)
            if cluster == UInt64.max { break }
            cluster += 1
            if cluster > first + (1 << 32) { break }
        }
    }

    mutating func increment(_ cluster: UInt64) {
        if cluster < UInt64(counts.count) {
            let index = Int(cluster)
            if counts[index] < UInt32.max { counts[index] += 1 }
        } else if let count = beyondEnd[cluster] {
            beyondEnd[cluster] = count &+ 1
        } else if beyondEnd.count < Self.maximumBeyondEnd {
            beyondEnd[cluster] = 1
        } else {
            dropped += 1
        }
    }

    mutating func decrement(_ cluster: UInt64) {
        if cluster < UInt64(counts.count) {
            let index = Int(cluster)
            if counts[index] > 0 { counts[index] -= 1 }
        } else if let count = beyondEnd[cluster], count > 0 {
            beyondEnd[cluster] = count - 1
        }
    }

    mutating func set(_ cluster: UInt64, _ value: UInt32) {
        if cluster < UInt64(counts.count) { counts[Int(cluster)] = value } else { beyondEnd[cluster] = value }
    }

    /// Covers clusters up to `clusters` with the dense array (moving sparse entries in).
    mutating func extend(to clusters: Int) {
        guard clusters > counts.count else { return }
        let oldCount = counts.count
        counts += [UInt32](repeating: 0, count: clusters - oldCount)
        for (cluster, count) in beyondEnd where cluster < UInt64(clusters) {
            counts[Int(cluster)] = count
            beyondEnd[cluster] = nil
        }
    }

    var clusterCount: Int { counts.count }

    func count(_ cluster: UInt64) -> UInt64 {
        if cluster < UInt64(counts.count) { return UInt64(counts[Int(cluster)]) }
        return UInt64(beyondEnd[cluster] ?? 0)
    }

    /// Every cluster to compare: the file's, then those past its end in order.
    var clustersToCompare: [UInt64] { beyondEnd.keys.sorted() }
}
