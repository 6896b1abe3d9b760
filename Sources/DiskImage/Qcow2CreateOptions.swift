/// What `Qcow2Image.create` makes: qemu-img's `-o` options for qcow2, with its defaults.
public struct Qcow2CreateOptions: Sendable, Equatable {
    /// qemu-img's `compat` option: the header version.
    public enum Compatibility: String, Sendable, CaseIterable {
        /// Version 2: no zero clusters, no feature bits, 16-bit refcounts.
        case v2 = "0.10"
        /// Version 3.
        case v3 = "1.1"
    }

    /// Virtual size in bytes (a multiple of 512); nil takes the backing file's size.
    public var size: UInt64?
    /// Power of two from 512 bytes to 2 MiB.
    public var clusterSize: Int
    public var compatibility: Compatibility
    /// Stored as given; a relative name is resolved against the new image's directory when opened.
    public var backingFile: String?
    /// Recorded in the backing format extension; nil probes the backing file.
    public var backingFormat: DiskImageFormat?
    /// Postpone refcount updates, marking the image dirty while open (v3 only).
    public var lazyRefcounts: Bool
    /// 1, 2, 4, 8, 16, 32 or 64 (anything but 16 needs v3).
    public var refcountBits: Int
    /// zstd needs v3.
    public var compressionType: Qcow2CompressionType
    public var preallocation: ImagePreallocation
    /// 128-bit L2 entries with 32 subclusters (v3, clusters of at least 16 KiB).
    public var extendedL2: Bool

    public init(
        size: UInt64?, clusterSize: Int = 65536, compatibility: Compatibility = .v3, backingFile: String? = nil,
        backingFormat: DiskImageFormat? = nil, lazyRefcounts: Bool = false, refcountBits: Int = 16,
        compressionType: Qcow2CompressionType = .zlib, preallocation: ImagePreallocation = .off,
        extendedL2: Bool = false
    ) {
        self.size = size
        self.clusterSize = clusterSize
        self.compatibility = compatibility
        self.backingFile = backingFile
        self.backingFormat = backingFormat
        self.lazyRefcounts = lazyRefcounts
        self.refcountBits = refcountBits
        self.compressionType = compressionType
        self.preallocation = preallocation
        self.extendedL2 = extendedL2
    }
}
