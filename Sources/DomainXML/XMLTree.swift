/// One attribute, in document order.
public struct XMLAttribute: Hashable, Sendable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// An XML element as the domain parser sees it: attributes in order, child elements, and the element's
/// own text. Whitespace-only text between elements is dropped (libvirt reformats its output too);
/// text mixed with child elements is joined and kept in `text`. Equality ignores `line`.
public struct XMLTreeElement: Hashable, Sendable {
    public var name: String
    public var attributes: [XMLAttribute]
    public var children: [XMLTreeElement]
    public var text: String
    /// 1-based line of the start tag, for error messages.
    public var line: Int

    public init(
        name: String, attributes: [XMLAttribute] = [], children: [XMLTreeElement] = [], text: String = "",
        line: Int = 0
    ) {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.text = text
        self.line = line
    }

    public func attribute(_ name: String) -> String? {
        attributes.first { $0.name == name }?.value
    }

    public func firstChild(_ name: String) -> XMLTreeElement? {
        children.first { $0.name == name }
    }

    /// The element as libvirt formats XML (two-space indentation, single-quoted attributes), escaped.
    public var formatted: String { XMLTreeWriter.string(for: self) }

    public static func == (lhs: XMLTreeElement, rhs: XMLTreeElement) -> Bool {
        lhs.name == rhs.name && lhs.attributes == rhs.attributes && lhs.text == rhs.text
            && lhs.children == rhs.children
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(attributes)
        hasher.combine(text)
        hasher.combine(children)
    }
}

extension XMLTreeElement {
    /// Parses a whole document with the strict, bounded parser domain descriptions go through (no
    /// document type declarations, so no entities), for other libvirt XML such as networks.
    public static func parseDocument(_ text: String) throws(DomainXMLError) -> XMLTreeElement {
        try XMLTreeParser.parse(text)
    }
}
