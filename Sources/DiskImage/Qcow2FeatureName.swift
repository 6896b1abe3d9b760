/// One entry of the feature name table header extension (qcow2 spec "Feature name table"): 48 bytes,
/// naming a feature bit so that tools lacking it can say what is missing.
struct Qcow2FeatureName: Sendable, Equatable {
    /// Which bitmap the bit belongs to.
    enum Kind: UInt8, Sendable {
        case incompatible = 0
        case compatible = 1
        case autoclear = 2
    }

    static let entryBytes = 48
    static let nameBytes = 46

    let kind: Kind
    let bit: Int
    let name: String

    /// The table QEMU writes into every version 3 image, in QEMU's order.
    static let standardTable: [Qcow2FeatureName] =
        Qcow2IncompatibleFeatures.names.sorted { $0.key < $1.key }.map {
            Qcow2FeatureName(kind: .incompatible, bit: $0.key, name: $0.value)
        }
        + Qcow2CompatibleFeatures.names.sorted { $0.key < $1.key }.map {
            Qcow2FeatureName(kind: .compatible, bit: $0.key, name: $0.value)
        }
        + Qcow2AutoclearFeatures.names.sorted { $0.key < $1.key }.map {
            Qcow2FeatureName(kind: .autoclear, bit: $0.key, name: $0.value)
        }

    /// Entries of an extension's data; unknown kinds and bits above 63 are skipped.
    static func parseTable(_ data: [UInt8]) -> [Qcow2FeatureName] {
        var names: [Qcow2FeatureName] = []
        var position = 0
        while position + entryBytes <= data.count {
            if let kind = Kind(rawValue: data[position]), data[position + 1] < 64 {
                let name = data.string(at: position + 2, count: nameBytes)
                names.append(Qcow2FeatureName(kind: kind, bit: Int(data[position + 1]), name: name))
            }
            position += entryBytes
        }
        return names
    }

    /// The 48-byte on-disk entry.
    var encoded: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.entryBytes)
        bytes[0] = kind.rawValue
        bytes[1] = UInt8(bit)
        for (index, byte) in name.utf8.prefix(Self.nameBytes).enumerated() { bytes[2 + index] = byte }
        return bytes
    }
}
