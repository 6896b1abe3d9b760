/// The parts of a domain description SwiftVirt does not model: kept so `dumpxml` gives them back and
/// reported as warnings, never silently dropped. `nested` holds what was left inside a modeled child
/// element (e.g. `cache='none'` on a disk's `<driver>`), keyed by that child's name.
public struct UnmodeledXML: Hashable, Sendable {
    public var attributes: [XMLAttribute]
    public var elements: [XMLTreeElement]
    public var nested: [String: UnmodeledXML]

    public init(attributes: [XMLAttribute] = [], elements: [XMLTreeElement] = [], nested: [String: UnmodeledXML] = [:])
    {
        self.attributes = attributes
        self.elements = elements
        self.nested = nested
    }

    public var isEmpty: Bool { attributes.isEmpty && elements.isEmpty && nested.isEmpty }

    /// One line per kept-but-unused attribute or element under `path` ("domain/devices/disk").
    func warnings(at path: String) -> [String] {
        var result: [String] = []
        for attribute in attributes {
            result.append("attribute '\(attribute.name)' of <\(path)> is not supported; it is kept but ignored")
        }
        for element in elements {
            result.append("element <\(element.name)> in <\(path)> is not supported; it is kept but ignored")
        }
        for (name, inner) in nested.sorted(by: { $0.key < $1.key }) {
            result += inner.warnings(at: path + "/" + name)
        }
        return result
    }

    /// Puts the kept parts back into an element built from the model. Attributes the model already
    /// wrote win; kept elements go before `insertBefore` if such a child exists, else at the end.
    func merge(into element: inout XMLTreeElement, insertBefore: String? = nil) {
        for attribute in attributes where element.attribute(attribute.name) == nil {
            element.attributes.append(attribute)
        }
        for (name, inner) in nested.sorted(by: { $0.key < $1.key }) {
            if let index = element.children.firstIndex(where: { $0.name == name }) {
                inner.merge(into: &element.children[index])
            } else {
                var child = XMLTreeElement(name: name)
                inner.merge(into: &child)
                element.children.append(child)
            }
        }
        if let insertBefore, let index = element.children.firstIndex(where: { $0.name == insertBefore }) {
            element.children.insert(contentsOf: elements, at: index)
        } else {
            element.children.append(contentsOf: elements)
        }
    }
}

/// Walks one element while the parser takes what it models; everything not taken becomes
/// `UnmodeledXML`. Used only during a parse, on one thread.
final class ElementReader {
    let element: XMLTreeElement
    private var usedAttributes: Set<String> = []
    private var usedChildren: Set<Int> = []
    private var singleChildren: [(name: String, reader: ElementReader)] = []

    init(_ element: XMLTreeElement) {
        self.element = element
    }

    var name: String { element.name }
    var text: String { element.text }
    var line: Int { element.line }

    func attribute(_ name: String) -> String? {
        usedAttributes.insert(name)
        return element.attribute(name)
    }

    /// Marks a live-only attribute (`id`, `tty`) as understood without keeping it.
    func ignoreAttribute(_ name: String) {
        usedAttributes.insert(name)
    }

    /// The first child with this name; its leftovers are kept under `nested[name]`. Later children of
    /// the same name stay unmodeled.
    func child(_ name: String) -> ElementReader? {
        guard let index = element.children.firstIndex(where: { $0.name == name }) else { return nil }
        usedChildren.insert(index)
        let reader = ElementReader(element.children[index])
        singleChildren.append((name, reader))
        return reader
    }

    /// The first child with this name, for a model that keeps its own leftovers (`<os>`, `<devices>`).
    func modeledChild(_ name: String) -> ElementReader? {
        guard let index = element.children.firstIndex(where: { $0.name == name }) else { return nil }
        usedChildren.insert(index)
        return ElementReader(element.children[index])
    }

    /// All children with this name; each caller-side model keeps its own leftovers.
    func children(_ name: String) -> [ElementReader] {
        var readers: [ElementReader] = []
        for (index, child) in element.children.enumerated() where child.name == name {
            usedChildren.insert(index)
            readers.append(ElementReader(child))
        }
        return readers
    }

    /// Marks live-only children (`alias`) as understood without keeping them.
    func ignoreChildren(_ name: String) {
        for (index, child) in element.children.enumerated() where child.name == name {
            usedChildren.insert(index)
        }
    }

    func leftovers() -> UnmodeledXML {
        var result = UnmodeledXML()
        result.attributes = element.attributes.filter { !usedAttributes.contains($0.name) }
        result.elements = element.children.enumerated().filter { !usedChildren.contains($0.offset) }.map(\.element)
        for (name, reader) in singleChildren {
            let inner = reader.leftovers()
            if !inner.isEmpty { result.nested[name] = inner }
        }
        return result
    }
}
