/// A strict, small XML 1.0 parser for domain descriptions, which come from clients and are hostile.
///
/// It takes elements, attributes, text, CDATA, comments, processing instructions and the predefined and
/// numeric character references. Document type declarations are refused, so there are no external or
/// expanding entities (no XXE, no "billion laughs"). Malformed input is an error, never a "recovered"
/// tree. The parse is iterative; depth, element count and input size are bounded.
struct XMLTreeParser {
    /// Larger than any domain description, and the size of libvirt's REMOTE_STRING_MAX.
    static let maxInputBytes = 4_194_304
    static let maxDepth = 256
    static let maxElements = 200_000

    private let bytes: [UInt8]
    private var position = 0
    /// Lines counted up to `lineCursor`; positions only move forward, so counting resumes there.
    private var lineCursor = 0
    private var linesBeforeCursor = 1

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    static func parse(_ text: String) throws(DomainXMLError) -> XMLTreeElement {
        guard text.utf8.count <= maxInputBytes else {
            throw .invalid("document of \(text.utf8.count) bytes exceeds the limit of \(maxInputBytes)")
        }
        var parser = XMLTreeParser(bytes: Array(text.utf8))
        return try parser.parseDocument()
    }

    // MARK: Document structure

    private mutating func parseDocument() throws(DomainXMLError) -> XMLTreeElement {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
        try skipMisc()
        guard position < bytes.count else { throw error("Document is empty") }
        guard byte(at: position) == UInt8(ascii: "<") else { throw error("Start tag expected, '<' not found") }
        let root = try parseRootElement()
        try skipMisc()
        guard position == bytes.count else { throw error("Extra content at the end of the document") }
        return root
    }

    /// Whitespace, comments and processing instructions around the root element.
    private mutating func skipMisc() throws(DomainXMLError) {
        while position < bytes.count {
            if isWhitespace(bytes[position]) {
                position += 1
            } else if matches("<?") {
                try skipProcessingInstruction()
            } else if matches("<!--") {
                try skipComment()
            } else if matches("<!DOCTYPE") || matches("<!ENTITY") {
                throw error("document type declarations are not allowed in domain descriptions")
            } else {
                return
            }
        }
    }

    /// An element under construction, with its text collected so far.
    private struct OpenElement {
        var element: XMLTreeElement
        var text: [UInt8]
    }

    private mutating func parseRootElement() throws(DomainXMLError) -> XMLTreeElement {
        var stack: [OpenElement] = []
        var elementCount = 0
        while position < bytes.count {
            if byte(at: position) != UInt8(ascii: "<") {
                guard !stack.isEmpty else { throw error("Extra content at the end of the document") }
                try readText(into: &stack[stack.count - 1].text)
            } else if matches("</") {
                guard let open = stack.popLast() else { throw error("Unexpected end tag") }
                let name = try readEndTag()
                guard name == open.element.name else {
                    throw error(
                        "Opening and ending tag mismatch: \(open.element.name) line \(open.element.line) and \(name)")
                }
                let finished = finish(open)
                if stack.isEmpty { return finished }
                stack[stack.count - 1].element.children.append(finished)
            } else if matches("<!--") {
                try skipComment()
            } else if matches("<![CDATA[") {
                guard !stack.isEmpty else { throw error("CDATA outside the root element") }
                try readCDATA(into: &stack[stack.count - 1].text)
            } else if matches("<?") {
                try skipProcessingInstruction()
            } else if matches("<!") {
                throw error("document type declarations are not allowed in domain descriptions")
            } else {
                elementCount += 1
                guard elementCount <= Self.maxElements else {
                    throw error("more than \(Self.maxElements) elements")
                }
                guard stack.count < Self.maxDepth else {
                    throw error("elements nested deeper than \(Self.maxDepth)")
                }
                let (element, selfClosing) = try readStartTag()
                if selfClosing {
                    if stack.isEmpty { return element }
                    stack[stack.count - 1].element.children.append(element)
                } else {
                    stack.append(OpenElement(element: element, text: []))
                }
            }
        }
        throw error("Premature end of data in tag \(stack.last?.element.name ?? "")")
    }

    private func finish(_ open: OpenElement) -> XMLTreeElement {
        var element = open.element
        if open.text.contains(where: { !isWhitespace($0) }) {
            element.text = String(decoding: open.text, as: UTF8.self)
        }
        return element
    }

    // MARK: Tags

    private mutating func readStartTag() throws(DomainXMLError) -> (XMLTreeElement, selfClosing: Bool) {
        let line = currentLine()
        position += 1  // "<"
        let name = try readName(what: "element")
        var element = XMLTreeElement(name: name, line: line)
        while true {
            let hadWhitespace = skipWhitespace()
            guard position < bytes.count else { throw error("Couldn't find end of Start Tag \(name)") }
            if matches("/>") {
                position += 2
                return (element, true)
            }
            if bytes[position] == UInt8(ascii: ">") {
                position += 1
                return (element, false)
            }
            guard hadWhitespace else { throw error("attributes construct error in element \(name)") }
            let attributeName = try readName(what: "attribute")
            skipWhitespace()
            guard byte(at: position) == UInt8(ascii: "=") else {
                throw error("Specification mandates value for attribute \(attributeName)")
            }
            position += 1
            skipWhitespace()
            let value = try readAttributeValue(name: attributeName)
            guard element.attribute(attributeName) == nil else {
                throw error("Attribute \(attributeName) redefined")
            }
            element.attributes.append(XMLAttribute(attributeName, value))
        }
    }

    private mutating func readEndTag() throws(DomainXMLError) -> String {
        position += 2  // "</"
        let name = try readName(what: "element")
        skipWhitespace()
        guard byte(at: position) == UInt8(ascii: ">") else { throw error("expected '>' after end tag \(name)") }
        position += 1
        return name
    }

    private mutating func readName(what: String) throws(DomainXMLError) -> String {
        let start = position
        guard position < bytes.count, isNameStart(bytes[position]) else {
            throw error("invalid \(what) name")
        }
        position += 1
        while position < bytes.count, isNameCharacter(bytes[position]) { position += 1 }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    private mutating func readAttributeValue(name: String) throws(DomainXMLError) -> String {
        guard let quote = byte(at: position), quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else {
            throw error("AttValue: \" or ' expected for attribute \(name)")
        }
        position += 1
        var value: [UInt8] = []
        while true {
            guard let current = byte(at: position) else { throw error("AttValue: ' expected") }
            if current == quote {
                position += 1
                return String(decoding: value, as: UTF8.self)
            }
            switch current {
            case UInt8(ascii: "<"):
                throw error("Unescaped '<' not allowed in attributes values")
            case UInt8(ascii: "&"):
                try readReference(into: &value)
            case 0x09, 0x0A, 0x0D:
                // Attribute-value normalization (XML 1.0 §3.3.3).
                value.append(UInt8(ascii: " "))
                position += 1
            default:
                try checkCharacter(current)
                value.append(current)
                position += 1
            }
        }
    }

    // MARK: Content

    private mutating func readText(into text: inout [UInt8]) throws(DomainXMLError) {
        while let current = byte(at: position), current != UInt8(ascii: "<") {
            if current == UInt8(ascii: "&") {
                try readReference(into: &text)
            } else {
                try checkCharacter(current)
                text.append(current)
                position += 1
            }
        }
    }

    private mutating func readCDATA(into text: inout [UInt8]) throws(DomainXMLError) {
        position += 9  // "<![CDATA["
        guard let end = find("]]>") else { throw error("CData section not finished") }
        for index in position..<end { try checkCharacter(bytes[index]) }
        text.append(contentsOf: bytes[position..<end])
        position = end + 3
    }

    private mutating func skipComment() throws(DomainXMLError) {
        position += 4  // "<!--"
        guard let end = find("-->") else { throw error("Comment not terminated") }
        position = end + 3
    }

    private mutating func skipProcessingInstruction() throws(DomainXMLError) {
        position += 2  // "<?"
        guard let end = find("?>") else { throw error("processing instruction not terminated") }
        position = end + 2
    }

    /// `&name;` or `&#N;` / `&#xH;` (XML 1.0 §4.1); only the five predefined entities exist here.
    private mutating func readReference(into output: inout [UInt8]) throws(DomainXMLError) {
        let start = position
        position += 1  // "&"
        var end = position
        while end < bytes.count, bytes[end] != UInt8(ascii: ";"), end - position < 16 { end += 1 }
        guard end < bytes.count, bytes[end] == UInt8(ascii: ";") else {
            position = start
            throw error("EntityRef: expecting ';'")
        }
        let name = String(decoding: bytes[position..<end], as: UTF8.self)
        position = end + 1
        switch name {
        case "lt": output.append(UInt8(ascii: "<"))
        case "gt": output.append(UInt8(ascii: ">"))
        case "amp": output.append(UInt8(ascii: "&"))
        case "quot": output.append(UInt8(ascii: "\""))
        case "apos": output.append(UInt8(ascii: "'"))
        default:
            guard name.hasPrefix("#") else { throw error("Entity '\(name)' not defined") }
            let digits = name.dropFirst()
            let value: UInt32?
            if digits.hasPrefix("x") {
                value = UInt32(digits.dropFirst(), radix: 16)
            } else {
                value = UInt32(digits, radix: 10)
            }
            guard let value, let scalar = Unicode.Scalar(value), isXMLCharacter(value) else {
                throw error("xmlParseCharRef: invalid xmlChar value in &\(name);")
            }
            output.append(contentsOf: String(Character(scalar)).utf8)
        }
    }

    // MARK: Bytes

    private func byte(at index: Int) -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    private func matches(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - position >= count else { return false }
        return literal.withUTF8Buffer { literalBytes in
            for index in 0..<count where bytes[position + index] != literalBytes[index] { return false }
            return true
        }
    }

    private func find(_ literal: StaticString) -> Int? {
        literal.withUTF8Buffer { literalBytes -> Int? in
            let count = literalBytes.count
            var index = position
            while index + count <= bytes.count {
                var found = true
                for offset in 0..<count where bytes[index + offset] != literalBytes[offset] {
                    found = false
                    break
                }
                if found { return index }
                index += 1
            }
            return nil
        }
    }

    @discardableResult
    private mutating func skipWhitespace() -> Bool {
        let start = position
        while position < bytes.count, isWhitespace(bytes[position]) { position += 1 }
        return position > start
    }

    private func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// ASCII letters, '_', ':' and any non-ASCII byte (a multi-byte UTF-8 name character).
    private func isNameStart(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: ":") || byte >= 0x80
    }

    private func isNameCharacter(_ byte: UInt8) -> Bool {
        isNameStart(byte) || (byte >= 0x30 && byte <= 0x39) || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: ".")
    }

    /// XML 1.0 §2.2 `Char`: no control characters other than tab, newline and carriage return.
    private func checkCharacter(_ byte: UInt8) throws(DomainXMLError) {
        if byte < 0x20, byte != 0x09, byte != 0x0A, byte != 0x0D {
            throw error("PCDATA invalid Char value \(byte)")
        }
    }

    private func isXMLCharacter(_ value: UInt32) -> Bool {
        switch value {
        case 0x09, 0x0A, 0x0D: return true
        case 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: return true
        default: return false
        }
    }

    private mutating func currentLine() -> Int {
        linesBeforeCursor = lineNumber(at: position)
        lineCursor = min(position, bytes.count)
        return linesBeforeCursor
    }

    private func lineNumber(at index: Int) -> Int {
        var line = linesBeforeCursor
        for offset in lineCursor..<max(lineCursor, min(index, bytes.count)) where bytes[offset] == 0x0A { line += 1 }
        return line
    }

    private func error(_ reason: String) -> DomainXMLError {
        .malformed(line: lineNumber(at: position), reason: reason)
    }
}

extension XMLTreeElement {
    /// Parses a whole document with the strict, bounded parser domain descriptions go through; other
    /// libvirt descriptions (storage pools, volumes) share it.
    public static func parse(document text: String) throws(DomainXMLError) -> XMLTreeElement {
        try XMLTreeParser.parse(text)
    }
}
