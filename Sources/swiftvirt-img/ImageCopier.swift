import DiskImage
import Dispatch
import Synchronization

/// The copy loop of `convert` (QEMU's convert_do_copy): ranges that read as zeroes are skipped when
/// the target already reads as zeroes, zero runs inside data are left as holes (-S), compressed
/// targets get whole clusters, and with -B ranges the target's backing file provides stay unallocated.
struct ImageCopier {
    let sources: ConvertSources
    let target: any DiskImage
    /// The target is new and reads as zeroes (no backing file), so zeroes need no writing.
    let targetIsZero: Bool
    /// -B: only the sources' own layers are copied.
    let copiesAboveBacking: Bool
    /// -S in 512-byte sectors; 0 writes everything.
    let sparseSectors: Int
    /// -c: the target's cluster size (compressed writes are whole clusters).
    let compressedClusterSize: Int?
    let progress: ProgressBar

    /// Bytes read and written per request (QEMU's 2 MiB convert buffer).
    static let bufferSize = 2 << 20

    func run() throws(ToolError) {
        do {
            let total = try bytesToCopy()
            var copied: UInt64 = 0
            if let clusterSize = compressedClusterSize {
                try copyCompressed(clusterSize: UInt64(clusterSize), total: total, copied: &copied)
            } else {
                try copyPlain(total: total, copied: &copied)
            }
        } catch {
            throw ToolError("error while writing at byte \(error.offset): \(ImageOpener.describe(error.cause))")
        }
    }

    /// A failure with the position it happened at.
    struct Failure: Error {
        let offset: UInt64
        let cause: DiskImageError
    }

    private func kind(at offset: UInt64) throws(Failure) -> (kind: ConvertSources.Kind, length: UInt64) {
        do {
            var status = try sources.status(at: offset, aboveBacking: copiesAboveBacking)
            if sparseSectors == 0 && status.kind == .zero { status.kind = .data }
            return status
        } catch {
            throw Failure(offset: offset, cause: error)
        }
    }

    /// The bytes that will be read and written, for the progress bar (QEMU counts allocated sectors).
    private func bytesToCopy() throws(Failure) -> UInt64 {
        var offset: UInt64 = 0
        var total: UInt64 = 0
        while offset < sources.totalSize {
            let status = try kind(at: offset)
            if status.kind == .data { total += status.length }
            offset += status.length
        }
        return total
    }

    private func report(_ copied: UInt64, of total: UInt64) {
        guard total > 0 else { return }
        progress.set(Float(Double(copied) * 100 / Double(total)))
    }

    private func copyPlain(total: UInt64, copied: inout UInt64) throws(Failure) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.bufferSize, alignment: 4096)
        defer { buffer.deallocate() }
        var offset: UInt64 = 0
        while offset < sources.totalSize {
            let status = try kind(at: offset)
            let end = offset + status.length
            switch status.kind {
            case .backing:
                break
            case .zero:
                if !targetIsZero { try writeZeroes(at: offset, length: status.length) }
            case .data:
                var position = offset
                while position < end {
                    let count = Int(min(UInt64(Self.bufferSize), end - position))
                    let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
                    do {
                        try sources.read(at: position, into: chunk)
                    } catch {
                        throw Failure(offset: position, cause: error)
                    }
                    try writeData(UnsafeRawBufferPointer(chunk), at: position)
                    position += UInt64(count)
                    copied += UInt64(count)
                    report(copied, of: total)
                }
            }
            offset = end
        }
    }

    /// Writes a data chunk, leaving runs of at least -S zero bytes as holes where the target reads as
    /// zeroes already (and writing zeroes over them otherwise).
    private func writeData(_ chunk: UnsafeRawBufferPointer, at offset: UInt64) throws(Failure) {
        guard sparseSectors > 0, chunk.count % 512 == 0, offset % 512 == 0 else {
            try write(chunk, at: offset)
            return
        }
        let alignment = max(1 << (Int.bitWidth - 1 - sparseSectors.leadingZeroBitCount), 1)
        var done = 0
        // Each run covers at least one sector, so this ends within chunk.count / 512 rounds.
        while done < chunk.count {
            let rest = UnsafeRawBufferPointer(rebasing: chunk[done...])
            let run = ZeroScan.allocatedRun(
                rest, minimumSectors: sparseSectors, sector: (offset + UInt64(done)) / 512, alignment: alignment)
            let length = max(run.sectors, 1) * 512
            let piece = UnsafeRawBufferPointer(rebasing: rest[0..<length])
            if run.isData {
                try write(piece, at: offset + UInt64(done))
            } else if !targetIsZero {
                try writeZeroes(at: offset + UInt64(done), length: UInt64(length))
            }
            done += length
        }
    }

    private func write(_ data: UnsafeRawBufferPointer, at offset: UInt64) throws(Failure) {
        do {
            try target.write(at: offset, from: data)
        } catch {
            throw Failure(offset: offset, cause: error)
        }
    }

    private func writeZeroes(at offset: UInt64, length: UInt64) throws(Failure) {
        do {
            try target.writeZeroes(at: offset, length: length)
        } catch {
            throw Failure(offset: offset, cause: error)
        }
    }

    /// Clusters handed to the worker threads at a time.
    static let compressionBatch = 64

    /// Whole clusters, compressed; a cluster only partly zero or partly from the backing file is
    /// copied whole (QEMU does the same). This thread walks the block status and collects the clusters
    /// to copy; reading, zero detection and compression run on all cores (the library serializes only
    /// the short store of each compressed cluster).
    private func copyCompressed(clusterSize: UInt64, total: UInt64, copied: inout UInt64) throws(Failure) {
        guard let qcow2 = target as? Qcow2Image else { return }
        let batch = CompressionBatch(
            sources: sources, image: qcow2, clusterSize: Int(clusterSize), capacity: Self.compressionBatch,
            targetIsZero: targetIsZero)
        defer { batch.deallocate() }
        var offset: UInt64 = 0
        while offset < sources.totalSize {
            let status = try kind(at: offset)
            let clusterEnd = min(offset + clusterSize, sources.totalSize)
            if status.kind != .data && offset + status.length >= clusterEnd {
                // Whole clusters that need no data: skip (or zero) them together.
                let end = offset + status.length
                let skipEnd = end == sources.totalSize ? end : offset + (end - offset) / clusterSize * clusterSize
                if status.kind == .zero && !targetIsZero {
                    try writeZeroes(at: offset, length: skipEnd - offset)
                }
                offset = skipEnd
                continue
            }
            batch.add(offset: offset, count: Int(clusterEnd - offset))
            if batch.isFull { try batch.flush() }
            copied += min(clusterEnd - offset, status.kind == .data ? status.length : 0)
            report(copied, of: total)
            offset = clusterEnd
        }
        try batch.flush()
    }
}

/// Clusters waiting to be copied compressed into a qcow2 image: `flush` reads, checks and compresses
/// them with `DispatchQueue.concurrentPerform`, each worker in its own slot of one buffer.
private final class CompressionBatch {
    let sources: ConvertSources
    let image: Qcow2Image
    let clusterSize: Int
    let capacity: Int
    let targetIsZero: Bool
    private let storage: UnsafeMutableRawBufferPointer
    private var offsets: [UInt64] = []
    private var counts: [Int] = []

    init(sources: ConvertSources, image: Qcow2Image, clusterSize: Int, capacity: Int, targetIsZero: Bool) {
        self.sources = sources
        self.image = image
        self.clusterSize = clusterSize
        self.capacity = capacity
        self.targetIsZero = targetIsZero
        storage = .allocate(byteCount: clusterSize * capacity, alignment: 4096)
    }

    func deallocate() { storage.deallocate() }

    var isFull: Bool { offsets.count == capacity }

    /// Queues the cluster at `offset` (`count` bytes: a whole cluster, or the disk's shorter tail).
    func add(offset: UInt64, count: Int) {
        offsets.append(offset)
        counts.append(count)
    }

    /// Copies every queued cluster: all-zero ones are skipped (or zeroed), the rest compressed. The
    /// failure at the lowest offset is thrown.
    func flush() throws(ImageCopier.Failure) {
        guard !offsets.isEmpty else { return }
        let failures = Mutex<[ImageCopier.Failure]>([])
        let (sources, image, clusterSize, offsets, counts) = (sources, image, clusterSize, offsets, counts)
        let targetIsZero = targetIsZero
        let storage = SharedClusters(buffer: storage)
        DispatchQueue.concurrentPerform(iterations: offsets.count) { index in
            let start = index * clusterSize
            let slot = UnsafeMutableRawBufferPointer(rebasing: storage.buffer[start..<start + counts[index]])
            do throws(DiskImageError) {
                try sources.read(at: offsets[index], into: slot)
                if ZeroScan.isZero(UnsafeRawBufferPointer(slot)) {
                    if !targetIsZero { try image.writeZeroes(at: offsets[index], length: UInt64(slot.count)) }
                } else {
                    try image.writeCompressed(at: offsets[index], from: UnsafeRawBufferPointer(slot))
                }
            } catch {
                failures.withLock { $0.append(ImageCopier.Failure(offset: offsets[index], cause: error)) }
            }
        }
        self.offsets.removeAll(keepingCapacity: true)
        self.counts.removeAll(keepingCapacity: true)
        if let failure = failures.withLock({ $0.min { $0.offset < $1.offset } }) { throw failure }
    }
}

/// The batch buffer handed to the worker threads: each touches only its own slot, and
/// `concurrentPerform` returns before the buffer is reused or freed.
private struct SharedClusters: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer
}
