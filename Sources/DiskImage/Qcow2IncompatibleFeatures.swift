/// qcow2 header bytes 72–79 (qcow2 spec "Header", incompatible_features): an implementation must refuse
/// an image with an unknown bit set.
struct Qcow2IncompatibleFeatures: OptionSet, Sendable, Hashable {
    let rawValue: UInt64

    /// Bit 0: refcounts may be stale (lazy refcounts in use, or an unclean shutdown).
    static let dirty = Qcow2IncompatibleFeatures(rawValue: 1 << 0)
    /// Bit 1: metadata is known to be inconsistent; writing is refused.
    static let corrupt = Qcow2IncompatibleFeatures(rawValue: 1 << 1)
    /// Bit 2: guest data lives in an external data file.
    static let externalDataFile = Qcow2IncompatibleFeatures(rawValue: 1 << 2)
    /// Bit 3: compression_type (header byte 104) is not zlib.
    static let compressionType = Qcow2IncompatibleFeatures(rawValue: 1 << 3)
    /// Bit 4: L2 entries are 128 bits with subcluster bitmaps.
    static let extendedL2 = Qcow2IncompatibleFeatures(rawValue: 1 << 4)

    /// Every bit this library knows.
    static let known: Qcow2IncompatibleFeatures = [.dirty, .corrupt, .externalDataFile, .compressionType, .extendedL2]

    /// The names QEMU writes in its feature name table, by bit.
    static let names: [Int: String] = [
        0: "dirty bit", 1: "corrupt bit", 2: "external data file", 3: "compression type", 4: "extended L2 entries",
    ]
}
