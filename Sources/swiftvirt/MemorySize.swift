import ArgumentParser

/// A memory size as QEMU's -m takes it: a number with an optional K/M/G/T suffix; a bare number is MiB.
struct MemorySize: ExpressibleByArgument, Equatable {
    let bytes: UInt64

    init(bytes: UInt64) { self.bytes = bytes }

    init?(argument: String) {
        let text = argument.trimmingSpaces().uppercased()
        guard !text.isEmpty else { return nil }
        var digits = Substring(text)
        var shift: UInt64 = 20
        if let last = digits.last, last.isLetter {
            switch last {
            case "K": shift = 10
            case "M": shift = 20
            case "G": shift = 30
            case "T": shift = 40
            default: return nil
            }
            digits = digits.dropLast()
            if digits.hasSuffix("I") { return nil }
        }
        guard let value = UInt64(digits), value > 0 else { return nil }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: 1 << shift)
        guard !overflow else { return nil }
        self.bytes = bytes
    }
}

extension String {
    fileprivate func trimmingSpaces() -> Substring {
        var slice = Substring(self)
        while slice.first == " " { slice = slice.dropFirst() }
        while slice.last == " " { slice = slice.dropLast() }
        return slice
    }
}
