/// Sizes with libvirt's units (`<memory unit='GiB'>`), following virScaleInteger: "b"/"bytes" are
/// bytes; a letter alone or with "iB" is a power of 1024; a letter with "B" is a power of 1000.
public enum MemorySize {
    /// Largest accepted size in bytes (libvirt's limit for memory, LLONG_MAX).
    static let maxBytes = UInt64(Int64.max)

    /// Converts `text` in `unit` (default KiB) to KiB, rounding up as libvirt does.
    static func kibibytes(_ text: String, unit: String?, element: String) throws(DomainXMLError) -> UInt64 {
        let bytes = try bytes(text, unit: unit ?? "KiB", element: element)
        return bytes / 1024 + (bytes % 1024 == 0 ? 0 : 1)
    }

    /// Converts `text` in `unit` to bytes (storage sizes: `<capacity unit='G'>`, default bytes).
    public static func bytes(_ text: String, unit: String?, element: String) throws(DomainXMLError) -> UInt64 {
        let digits = text.trimmingWhitespace
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = UInt64(digits)
        else {
            throw .invalid("Invalid value '\(text)' for element <\(element)>")
        }
        let scale = try Self.scale(of: unit ?? "bytes")
        let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
        guard !overflow, bytes <= maxBytes else { throw .overflow("value too large: \(value)\(unit ?? "bytes")") }
        return bytes
    }

    /// Bytes per unit.
    static func scale(of unit: String) throws(DomainXMLError) -> UInt64 {
        let lower = unit.lowercased()
        if lower == "b" || lower == "byte" || lower == "bytes" { return 1 }
        guard let first = lower.first else { throw .unknownUnit(unit) }
        let rest = lower.dropFirst()
        let base: UInt64
        if rest.isEmpty || rest == "ib" {
            base = 1024
        } else if rest == "b" {
            base = 1000
        } else {
            throw .unknownUnit(unit)
        }
        let exponent: Int
        switch first {
        case "k": exponent = 1
        case "m": exponent = 2
        case "g": exponent = 3
        case "t": exponent = 4
        case "p": exponent = 5
        case "e": exponent = 6
        default: throw .unknownUnit(unit)
        }
        var scale: UInt64 = 1
        for _ in 0..<exponent { scale *= base }
        return scale
    }
}

extension String {
    /// The text without leading and trailing whitespace (XML element text as libvirt reads it).
    public var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[start...end])
    }
}
