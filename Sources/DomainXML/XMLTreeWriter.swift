/// Prints an element tree the way libvirt formats XML: two-space indentation, single-quoted
/// attributes, empty elements self-closed.
enum XMLTreeWriter {
    static func string(for element: XMLTreeElement) -> String {
        var output = ""
        write(element, indent: 0, to: &output)
        return output
    }

    private static func write(_ element: XMLTreeElement, indent: Int, to output: inout String) {
        let padding = String(repeating: "  ", count: indent)
        output += padding + "<" + element.name
        for attribute in element.attributes {
            output += " " + attribute.name + "='" + escaped(attribute.value, inAttribute: true) + "'"
        }
        if element.children.isEmpty {
            output += element.text.isEmpty ? "/>\n" : ">" + escaped(element.text) + "</" + element.name + ">\n"
            return
        }
        output += ">\n"
        if !element.text.isEmpty {
            output += padding + "  " + escaped(element.text) + "\n"
        }
        for child in element.children {
            write(child, indent: indent + 1, to: &output)
        }
        output += padding + "</" + element.name + ">\n"
    }

    /// Escapes markup characters; drops control characters XML 1.0 cannot carry at all. In attributes,
    /// tab and line breaks become references so attribute-value normalization keeps them.
    static func escaped(_ text: String, inAttribute: Bool = false) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "'": result += "&apos;"
            case "\"": result += "&quot;"
            case "\t", "\n", "\r":
                if inAttribute {
                    result += "&#\(scalar.value);"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            default:
                if scalar.value >= 0x20 { result.unicodeScalars.append(scalar) }
            }
        }
        return result
    }
}
