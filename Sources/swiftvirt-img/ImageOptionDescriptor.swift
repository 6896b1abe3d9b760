import DiskImage

/// One creation option as qemu-img declares it: its type decides how the value is parsed before
/// anything is created and how the "Formatting ..." line shows it.
struct ImageOptionDescriptor {
    enum Kind {
        /// A byte count with suffixes.
        case size
        /// A plain integer.
        case number
        /// on/off.
        case bool
        case string
    }

    let name: String
    let kind: Kind
    /// Shown on the "Formatting" line when the option is not given.
    let defaultValue: String?
    let help: String

    /// qcow2's options in the order qemu-img 7.2 prints them on the "Formatting" line.
    static let qcow2: [ImageOptionDescriptor] = [
        .init(name: "cluster_size", kind: .size, defaultValue: "65536", help: "qcow2 cluster size"),
        .init(name: "extended_l2", kind: .bool, defaultValue: "off", help: "Extended L2 tables"),
        .init(
            name: "preallocation", kind: .string, defaultValue: nil,
            help: "Preallocation mode (allowed values: off, metadata, falloc, full)"),
        .init(
            name: "compression_type", kind: .string, defaultValue: "zlib",
            help: "Compression method used for image cluster compression"),
        .init(name: "size", kind: .size, defaultValue: nil, help: "Virtual disk size"),
        .init(name: "backing_file", kind: .string, defaultValue: nil, help: "File name of a base image"),
        .init(name: "backing_fmt", kind: .string, defaultValue: nil, help: "Image format of the base image"),
        .init(name: "data_file", kind: .string, defaultValue: nil, help: "File name of an external data file"),
        .init(
            name: "data_file_raw", kind: .bool, defaultValue: nil,
            help: "The external data file must stay valid as a raw image"),
        .init(
            name: "encryption", kind: .bool, defaultValue: nil,
            help: "Encrypt the image with format 'aes'. (Deprecated in favor of encrypt.format=aes)"),
        .init(
            name: "encrypt.format", kind: .string, defaultValue: nil,
            help: "Encrypt the image, format choices: 'aes', 'luks'"),
        .init(
            name: "compat", kind: .string, defaultValue: nil, help: "Compatibility level (v2 [0.10] or v3 [1.1])"),
        .init(name: "lazy_refcounts", kind: .bool, defaultValue: "off", help: "Postpone refcount updates"),
        .init(
            name: "refcount_bits", kind: .number, defaultValue: "16", help: "Width of a reference count entry in bits"),
    ]

    /// raw's own option, then the file protocol's.
    static let raw: [ImageOptionDescriptor] = [
        .init(name: "size", kind: .size, defaultValue: nil, help: "Virtual disk size"),
        .init(
            name: "preallocation", kind: .string, defaultValue: nil,
            help: "Preallocation mode (allowed values: off, falloc, full)"),
        .init(name: "nocow", kind: .bool, defaultValue: nil, help: "Turn off copy-on-write (valid only on btrfs)"),
        .init(
            name: "extent_size_hint", kind: .size, defaultValue: nil,
            help: "Extent size hint for the image file, 0 to disable"),
    ]

    /// What `qemu-img amend -o help` lists for qcow2 (those this tool can change).
    static let qcow2Amendable = ["backing_file", "backing_fmt", "compat", "lazy_refcounts", "refcount_bits", "size"]

    static func descriptors(for format: DiskImageFormat) -> [ImageOptionDescriptor] {
        format == .qcow2 ? qcow2 : raw
    }

    /// "Supported qcow2 options:" and the sorted list, as `-o help` prints it.
    static func helpText(for format: DiskImageFormat, title: String? = nil, only names: [String]? = nil) -> String {
        var lines = [title ?? "Supported \(format.rawValue) options:"]
        let list = descriptors(for: format).filter { names?.contains($0.name) ?? true }
        for descriptor in list.sorted(by: { $0.name < $1.name }) {
            let type: String
            switch descriptor.kind {
            case .size: type = "size"
            case .number: type = "num"
            case .bool: type = "bool (on/off)"
            case .string: type = "str"
            }
            var left = "  \(descriptor.name)=<\(type)>"
            left += String(repeating: " ", count: max(1, 25 - left.count))
            lines.append(left + "- " + descriptor.help)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Checks one value's syntax the way QemuOpts does before anything happens.
    func check(_ value: String) throws(ToolError) {
        switch kind {
        case .size:
            if case .failure = SizeParser.parse(value) {
                throw ToolError(
                    "Parameter '\(name)' expects a non-negative number below 2^64",
                    hints: [
                        "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-",
                        "and exabytes, respectively.",
                    ])
            }
        case .number:
            guard UInt64(value) != nil else { throw ToolError("Parameter '\(name)' expects a number") }
        case .bool:
            guard BoolValue.parse(value) != nil else { throw ToolError("Parameter '\(name)' expects 'on' or 'off'") }
        case .string:
            break
        }
    }

    /// How the "Formatting" line shows a given value: sizes and numbers as numbers, the rest as typed
    /// (commas doubled).
    func display(_ value: String) -> String {
        switch kind {
        case .size:
            if case .success(let bytes) = SizeParser.parse(value) { return String(bytes) }
            return value
        case .number:
            return UInt64(value).map(String.init) ?? value
        case .bool:
            return value
        case .string:
            return value.replacingOccurrences(of: ",", with: ",,")
        }
    }
}

/// on/off values as QEMU accepts them.
enum BoolValue {
    static func parse(_ text: String) -> Bool? {
        switch text {
        case "on", "yes", "true", "y": return true
        case "off", "no", "false", "n": return false
        default: return nil
        }
    }
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation).
    func replacingOccurrences(of target: Character, with replacement: String) -> String {
        var result = ""
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}
