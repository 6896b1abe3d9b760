import ArgumentParser
import DiskImage

/// `map [-f fmt] [--start-offset=offset] [--max-length=len] [--output=ofmt] [-U] filename`: which layer of
/// the backing chain provides each range, and where its data lies (QEMU's img_map).
struct Map: ImageCommand {
    static let configuration = CommandConfiguration(abstract: "Show where each range of an image's data lies.")

    @Option(
        name: .customShort("f", allowingJoined: true),
        help: ArgumentHelp("Image format (probed if not given).", valueName: "fmt"))
    var format: String?

    @Option(name: .customLong("output"), help: ArgumentHelp("human or json.", valueName: "ofmt"))
    var output: String?

    @Option(name: .customLong("start-offset"), help: "First byte to map.")
    var startOffset: String?

    @Option(name: .customLong("max-length"), help: "Bytes to map at most.")
    var maxLength: String?

    @OptionGroup var forceShare: ForceShareOption

    @Argument(help: "filename")
    var files: [String] = []

    mutating func execute() throws(ToolError) -> Int32 {
        let outputFormat = try OutputFormat.parse(output)
        let start = try startOffset.map { (text) throws(ToolError) in try SizeParser.argument("start offset", text) }
        let limit = try maxLength.map { (text) throws(ToolError) in try SizeParser.argument("max length", text) }
        guard files.count == 1, let path = files.first else { throw ToolError.usage("Expecting one image file name") }
        let image = try ImageOpener.open(path, formatName: format, readOnly: true, forceShare: forceShare.enabled)
        let names = ChainStatus.fileNames(image)
        let size = image.virtualSize
        let first = min(start ?? 0, size)
        let end = limit.map { first + min($0, size - first) } ?? size

        if outputFormat == .human {
            ToolOutput.out(pad("Offset") + pad("Length") + pad("Mapped to") + "File\n")
        } else {
            ToolOutput.out("[")
        }
        var current = ChainStatus(
            start: first, length: 0, data: false, zero: false, present: false, depth: 0, offset: nil, compressed: false)
        // Every status covers at least one byte, so the loop ends within `end - first` rounds.
        while current.start + current.length < end {
            let offset = current.start + current.length
            var next: ChainStatus
            do {
                next = try ChainStatus.query(image, at: offset, length: end - offset)
            } catch {
                throw ToolError("Could not read file metadata: \(ImageOpener.describe(error))")
            }
            if Self.mergeable(current, next, names) {
                current.length += next.length
                continue
            }
            if current.length > 0 { next = try dump(current, next: next, outputFormat, names) ?? next }
            current = next
        }
        _ = try dump(current, next: nil, outputFormat, names)
        if outputFormat == .json { ToolOutput.out("]\n") }
        return 0
    }

    private func pad(_ text: String) -> String { SnapshotTable.padRight(text, 16) }

    private func name(_ entry: ChainStatus, _ names: [String]) -> String? {
        entry.offset == nil || entry.depth >= names.count ? nil : names[entry.depth]
    }

    /// QEMU's entry_mergeable.
    private static func mergeable(_ current: ChainStatus, _ next: ChainStatus, _ names: [String]) -> Bool {
        guard current.length > 0 else { return false }
        guard current.zero == next.zero, current.data == next.data, current.depth == next.depth,
            current.present == next.present, (current.offset == nil) == (next.offset == nil)
        else { return false }
        if let offset = current.offset, offset + current.length != next.offset { return false }
        return true
    }

    /// QEMU's dump_map_entry; returns `next` as the human format folds zero data into holes for better
    /// merging.
    private func dump(
        _ entry: ChainStatus, next: ChainStatus?, _ outputFormat: OutputFormat, _ names: [String]
    ) throws(ToolError) -> ChainStatus? {
        var next = next
        switch outputFormat {
        case .human:
            if entry.data && entry.offset == nil {
                throw ToolError("File contains external, encrypted or compressed clusters.")
            }
            if entry.data && !entry.zero {
                ToolOutput.out(
                    pad(Self.hex(entry.start)) + pad(Self.hex(entry.length)) + pad(Self.hex(entry.offset ?? 0))
                        + (name(entry, names) ?? "") + "\n")
            }
            if let following = next, !following.data || following.zero {
                next?.data = false
                next?.zero = true
            }
        case .json:
            var text = "{ \"start\": \(entry.start), \"length\": \(entry.length), \"depth\": \(entry.depth),"
            text += " \"present\": \(entry.present), \"zero\": \(entry.zero), \"data\": \(entry.data)"
            if let offset = entry.offset { text += ", \"offset\": \(offset)" }
            text += "}"
            if next != nil { text += ",\n" }
            ToolOutput.out(text)
        }
        return next
    }

    /// printf's "%#x": "0" for zero, "0x…" otherwise.
    private static func hex(_ value: UInt64) -> String {
        value == 0 ? "0" : "0x" + String(value, radix: 16)
    }
}
