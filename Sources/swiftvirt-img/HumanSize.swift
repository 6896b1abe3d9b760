#if canImport(Glibc)
    import Glibc
#endif

/// Byte counts the way qemu-img prints them (QEMU's size_to_str): three significant digits and a
/// binary unit, switching unit once the number reaches 1000 ("1000 KiB" is shown as "0.977 MiB").
enum HumanSize {
    private static let suffixes = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]

    static func string(_ bytes: UInt64) -> String {
        var exponent: Int32 = 0
        _ = frexp(Double(bytes) / (1000.0 / 1024.0), &exponent)
        let index = min(max(Int((exponent - 1) / 10), 0), suffixes.count - 1)
        let divisor = Double(UInt64(1) << UInt64(index * 10))
        return cFormat("%0.3g", Double(bytes) / divisor) + " " + suffixes[index] + "B"
    }
}
