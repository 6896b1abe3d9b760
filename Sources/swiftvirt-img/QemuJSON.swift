/// JSON as qemu-img prints it: QEMU's QDict orders keys by bucket (its tdb hash modulo 512) and,
/// within a bucket, newest first; the pretty printer indents by four spaces and escapes everything
/// outside printable ASCII as \uXXXX. Reproducing both keeps `--output=json` byte-identical.
indirect enum QemuJSON: Equatable {
    case object(QemuJSONObject)
    case array([QemuJSON])
    case string(String)
    case integer(Int64)
    case bool(Bool)

    static func unsigned(_ value: UInt64) -> QemuJSON { .integer(Int64(truncatingIfNeeded: value)) }

    /// The pretty-printed text (no trailing newline).
    var pretty: String {
        var text = ""
        write(into: &text, indent: 0)
        return text
    }

    private func write(into text: inout String, indent: Int) {
        switch self {
        case .object(let object):
            text += "{"
            for (index, entry) in object.orderedEntries.enumerated() {
                if index > 0 { text += "," }
                Self.newline(&text, indent + 1)
                Self.quote(entry.key, into: &text)
                text += ": "
                entry.value.write(into: &text, indent: indent + 1)
            }
            Self.newline(&text, indent)
            text += "}"
        case .array(let elements):
            text += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { text += "," }
                Self.newline(&text, indent + 1)
                element.write(into: &text, indent: indent + 1)
            }
            Self.newline(&text, indent)
            text += "]"
        case .string(let value):
            Self.quote(value, into: &text)
        case .integer(let value):
            text += String(value)
        case .bool(let value):
            text += value ? "true" : "false"
        }
    }

    private static func newline(_ text: inout String, _ indent: Int) {
        text += "\n" + String(repeating: " ", count: indent * 4)
    }

    private static func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// QEMU's to_json string escaping.
    static func quote(_ value: String, into text: inout String) {
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\u{08}": text += "\\b"
            case "\u{0C}": text += "\\f"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            default:
                let code = scalar.value
                if code > 0xFFFF {
                    let offset = code - 0x10000
                    text += "\\u" + hex4(0xD800 + (offset >> 10)) + "\\u" + hex4(0xDC00 + (offset & 0x3FF))
                } else if code < 0x20 || code >= 0x7F {
                    text += "\\u" + hex4(code)
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        text += "\""
    }
}

/// A JSON object that remembers insertion order, printed in QDict order.
struct QemuJSONObject: Equatable {
    private(set) var entries: [(key: String, value: QemuJSON)] = []

    static func == (lhs: QemuJSONObject, rhs: QemuJSONObject) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.key == $1.key && $0.value == $1.value }
    }

    /// Adds `key` (replacing an earlier value in place).
    mutating func set(_ key: String, _ value: QemuJSON) {
        if let index = entries.firstIndex(where: { $0.key == key }) {
            entries[index].value = value
        } else {
            entries.append((key, value))
        }
    }

    /// Bucket order, newest first within a bucket (qdict_first/qdict_next).
    var orderedEntries: [(key: String, value: QemuJSON)] {
        entries.enumerated().sorted { left, right in
            let (a, b) = (Self.bucket(left.element.key), Self.bucket(right.element.key))
            return a != b ? a < b : left.offset > right.offset
        }.map(\.element)
    }

    /// QEMU's tdb_hash modulo QDICT_BUCKET_MAX (512).
    static func bucket(_ key: String) -> UInt32 {
        let bytes = Array(key.utf8)
        var value = UInt32(truncatingIfNeeded: 0x238F_13AF &* bytes.count)
        for (index, byte) in bytes.enumerated() {
            value = value &+ (UInt32(byte) << UInt32(index * 5 % 24))
        }
        return (1_103_515_243 &* value &+ 12345) % 512
    }
}
