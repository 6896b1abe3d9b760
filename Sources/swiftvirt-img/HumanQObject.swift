/// qemu-img's human rendering of a QAPI object ("Format specific information"): one "key: value" line
/// per member in QDict order, dashes in keys shown as spaces, nested objects indented by four spaces.
enum HumanQObject {
    static func dump(_ object: QemuJSONObject, indentation: Int) -> String {
        var text = ""
        for entry in object.orderedEntries {
            let key = entry.key.replacingDashes()
            text += String(repeating: " ", count: indentation * 4) + key + ":"
            switch entry.value {
            case .object(let nested):
                text += "\n" + dump(nested, indentation: indentation + 1)
            case .array(let elements):
                text += "\n"
                for (index, element) in elements.enumerated() {
                    text += String(repeating: " ", count: (indentation + 1) * 4) + "[\(index)]:\n"
                    if case .object(let nested) = element { text += dump(nested, indentation: indentation + 2) }
                }
            case .string(let value):
                text += " " + value + "\n"
            case .integer(let value):
                text += " " + String(value) + "\n"
            case .bool(let value):
                text += " " + (value ? "true" : "false") + "\n"
            }
        }
        return text
    }
}

extension String {
    fileprivate func replacingDashes() -> String {
        String(map { $0 == "-" ? " " : $0 })
    }
}
