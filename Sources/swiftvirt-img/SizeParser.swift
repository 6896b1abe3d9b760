/// Sizes as qemu-img reads them (QEMU's qemu_strtosz): digits, an optional fraction, and an optional
/// suffix B, K, M, G, T, P or E (any case, powers of 1024). A fraction needs a suffix other than B.
enum SizeParser {
    enum Failure: Error, Equatable {
        /// Not a size at all.
        case invalid
        /// Does not fit in 64 bits.
        case outOfRange
    }

    /// The size in bytes; a bare number is multiplied by `defaultUnit`.
    static func parse(_ text: String, defaultUnit: UInt64 = 1) -> Result<UInt64, Failure> {
        var characters = Substring(text)
        while characters.first == " " || characters.first == "\t" { characters = characters.dropFirst() }
        let digits = characters.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let whole = UInt64(digits) else {
            return digits.isEmpty ? .failure(.invalid) : .failure(.outOfRange)
        }
        var rest = characters.dropFirst(digits.count)
        var fraction = 0.0
        var hasFraction = false
        if rest.first == "." {
            let decimals = rest.dropFirst().prefix { $0.isASCII && $0.isNumber }
            guard !decimals.isEmpty, let value = Double("0." + decimals) else { return .failure(.invalid) }
            fraction = value
            hasFraction = true
            rest = rest.dropFirst(1 + decimals.count)
        }
        var unit = defaultUnit
        if let suffix = rest.first {
            guard let multiplier = multiplier(for: suffix) else { return .failure(.invalid) }
            unit = multiplier
            rest = rest.dropFirst()
        }
        guard rest.isEmpty else { return .failure(.invalid) }
        if hasFraction && unit == 1 { return .failure(.invalid) }
        let fractionBytes = UInt64(fraction * Double(unit))
        let (product, overflow) = whole.multipliedReportingOverflow(by: unit)
        let (total, carry) = product.addingReportingOverflow(fractionBytes)
        guard !overflow, !carry else { return .failure(.outOfRange) }
        return .success(total)
    }

    private static func multiplier(for suffix: Character) -> UInt64? {
        switch suffix {
        case "b", "B": return 1
        case "k", "K": return 1 << 10
        case "m", "M": return 1 << 20
        case "g", "G": return 1 << 30
        case "t", "T": return 1 << 40
        case "p", "P": return 1 << 50
        case "e", "E": return 1 << 60
        default: return nil
        }
    }
}

extension SizeParser {
    /// qemu-img's cvtnum: a size argument named `name` within [minimum, maximum], with its two error
    /// messages.
    static func argument(
        _ name: String, _ text: String, minimum: UInt64 = 0, maximum: UInt64 = UInt64(Int64.max)
    ) throws(ToolError) -> UInt64 {
        switch parse(text) {
        case .failure(.invalid):
            throw ToolError(
                "Invalid \(name) specified. You may use k, M, G, T, P or E suffixes for",
                hints: ["\(ToolOutput.toolName): kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes."])
        case .failure(.outOfRange):
            throw ToolError("Invalid \(name) specified. Must be between \(minimum) and \(maximum).")
        case .success(let value):
            guard value >= minimum, value <= maximum else {
                throw ToolError("Invalid \(name) specified. Must be between \(minimum) and \(maximum).")
            }
            return value
        }
    }
}
