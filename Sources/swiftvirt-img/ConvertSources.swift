import DiskImage

/// `convert`'s input images laid end to end (qemu-img concatenates several sources). Reading is
/// thread-safe, as the images are.
struct ConvertSources: Sendable {
    let images: [any DiskImage]
    /// Where each image starts in the concatenation.
    let starts: [UInt64]
    let totalSize: UInt64

    /// Fails when the sizes add up to more than a disk can have.
    init(_ images: [any DiskImage]) throws(ToolError) {
        self.images = images
        var starts: [UInt64] = []
        var total: UInt64 = 0
        for image in images {
            starts.append(total)
            let (sum, overflow) = total.addingReportingOverflow(image.virtualSize)
            guard !overflow, sum <= UInt64(Int64.max) else {
                throw ToolError("The input images are too large together")
            }
            total = sum
        }
        self.starts = starts
        totalSize = total
    }

    /// How a range is to be copied (QEMU's convert BLK_DATA / BLK_ZERO / BLK_BACKING_FILE).
    enum Kind: Equatable {
        case data
        case zero
        /// Left unallocated: the target's backing file provides it (only with -B).
        case backing
    }

    /// The kind of the run at `offset` (never crossing into the next source) and its length.
    /// With `aboveBacking`, only the sources' own layer counts, as `convert -B` copies it.
    func status(at offset: UInt64, aboveBacking: Bool) throws(DiskImageError) -> (kind: Kind, length: UInt64) {
        let index = sourceIndex(offset)
        let image = images[index]
        let local = offset - starts[index]
        let status = try ChainStatus.query(image, at: local, length: image.virtualSize - local)
        if aboveBacking && status.depth > 0 { return (.backing, status.length) }
        return (status.zero ? .zero : .data, status.length)
    }

    /// Reads the concatenation at `offset` into `buffer`.
    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(DiskImageError) {
        var done = 0
        while done < buffer.count {
            let position = offset + UInt64(done)
            let index = sourceIndex(position)
            let image = images[index]
            let local = position - starts[index]
            let count = Int(min(UInt64(buffer.count - done), image.virtualSize - local))
            try image.read(at: local, into: UnsafeMutableRawBufferPointer(rebasing: buffer[done..<done + count]))
            done += count
        }
    }

    /// The source holding byte `offset` (< totalSize); empty sources are skipped.
    private func sourceIndex(_ offset: UInt64) -> Int {
        var index = images.count - 1
        while index > 0 && (starts[index] > offset || images[index].virtualSize == 0) { index -= 1 }
        return index
    }
}
