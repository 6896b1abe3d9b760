/// qcow2 header bytes 80–87 (qcow2 spec "Header", compatible_features): unknown bits may be ignored.
struct Qcow2CompatibleFeatures: OptionSet, Sendable, Hashable {
    let rawValue: UInt64

    /// Bit 0: refcount updates may be postponed; the image is marked dirty while open for writing.
    static let lazyRefcounts = Qcow2CompatibleFeatures(rawValue: 1 << 0)

    static let names: [Int: String] = [0: "lazy refcounts"]
}
