import ArgumentParser

/// The `key=value,key=value` form shared by --disk, --net, --vsock and --virtio-console.
struct KeyValueOption {
    let option: String
    let pairs: [(key: String, value: String)]

    init(_ argument: String, option: String) throws {
        self.option = option
        pairs = try argument.split(separator: ",", omittingEmptySubsequences: false).map { field in
            let pair = field.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, !pair[0].isEmpty else {
                throw ValidationError("\(option): expected key=value, got '\(field)'")
            }
            return (pair[0], pair[1])
        }
    }

    func flag(_ value: String, key: String) throws -> Bool {
        switch value {
        case "on", "yes", "true", "1": return true
        case "off", "no", "false", "0": return false
        default: throw ValidationError("\(option): \(key) must be on or off, got '\(value)'")
        }
    }

    func number<T: FixedWidthInteger>(_ value: String, key: String, as type: T.Type) throws -> T {
        guard let number = T(value) else { throw ValidationError("\(option): \(key) must be a number, got '\(value)'") }
        return number
    }

    func unknown(_ key: String, known: String) -> ValidationError {
        ValidationError("\(option): unknown key '\(key)' (\(known))")
    }
}
