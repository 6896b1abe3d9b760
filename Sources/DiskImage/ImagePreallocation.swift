/// How much of a new image's space is reserved at creation (qemu-img's `preallocation` option).
public enum ImagePreallocation: String, Sendable, CaseIterable {
    /// Nothing beyond the minimal metadata; the file grows as the guest writes.
    case off
    /// qcow2 only: every L2 table and data cluster is mapped; the file is sparse.
    case metadata
    /// Like `metadata`, and the data area is reserved with posix_fallocate(3).
    case falloc
    /// Like `metadata`, and the data area is written with zeroes.
    case full
}
