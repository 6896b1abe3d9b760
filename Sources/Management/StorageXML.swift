import DomainXML
import LibvirtProtocol

/// What storage pool and volume descriptions share: the domain parser's strict, bounded XML tree,
/// sizes with units, and libvirt's storage error codes for what is wrong with them.
enum StorageXML {
    /// The document's root element, which must be `root`. `document` names the input in
    /// well-formedness errors, as libvirt does ("(storage_pool_definition):3: ...").
    static func root(_ xml: String, expecting root: String, document: String) throws(LibvirtError) -> XMLTreeElement {
        let element: XMLTreeElement
        do {
            element = try XMLTreeElement.parse(document: xml)
        } catch {
            throw libvirtError(error, document: document)
        }
        guard element.name == root else {
            throw .xmlError("expecting root element of '\(root)', not '\(element.name)'", domain: .storage)
        }
        return element
    }

    /// The same error a domain description gets, raised by the storage driver.
    static func libvirtError(_ error: DomainXMLError, document: String) -> LibvirtError {
        var result = error.libvirtError
        result.domain = .storage
        if case .malformed(let line, let reason) = error { result.message = "(\(document)):\(line): \(reason)" }
        return result
    }

    /// A size element (`<capacity unit='G'>1</capacity>`) in bytes; the unit defaults to bytes.
    static func size(_ element: XMLTreeElement) throws(LibvirtError) -> UInt64 {
        do {
            return try MemorySize.bytes(element.text, unit: element.attribute("unit"), element: element.name)
        } catch {
            throw libvirtError(error, document: element.name)
        }
    }

    /// `<name unit='bytes'>value</name>`, as libvirt prints sizes.
    static func sizeElement(_ name: String, _ bytes: UInt64) -> XMLTreeElement {
        XMLTreeElement(name: name, attributes: [XMLAttribute("unit", "bytes")], text: String(bytes))
    }

    /// The element's text, or nil when it is missing or blank.
    static func text(_ element: XMLTreeElement?) -> String? {
        guard let text = element?.text.trimmingWhitespace, !text.isEmpty else { return nil }
        return text
    }
}
