/// qcow2 header bytes 88–95 (qcow2 spec "Header", autoclear_features): a writer must clear bits it does
/// not maintain before modifying the image.
struct Qcow2AutoclearFeatures: OptionSet, Sendable, Hashable {
    let rawValue: UInt64

    /// Bit 0: the bitmaps extension is consistent with the data.
    static let bitmaps = Qcow2AutoclearFeatures(rawValue: 1 << 0)
    /// Bit 1: the external data file is a valid raw image on its own.
    static let rawExternalData = Qcow2AutoclearFeatures(rawValue: 1 << 1)

    static let names: [Int: String] = [0: "bitmaps", 1: "raw external data"]
}
